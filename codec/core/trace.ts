/**
 * The opt-in frame trace (ProtocolCoreOptions.frameTrace): a record per frame received or sent
 * once OPEN. Frames do not pass through the statechart, so inspection alone does not show them.
 */
import { CloseReason } from "../constants.js";
import { Opcode, type ClosePayload, type Frame } from "../frame.js";
import type { FrameTrace, FrameTraceRecord } from "./types.js";

export function traceReceived(trace: FrameTrace, frame: Frame): void {
  const payload = frame.payload;
  if (frame.opcode === Opcode.CLOSE) {
    const close = payload as ClosePayload;
    trace({ direction: "in", opcode: frame.opcode, length: close.code === CloseReason.NO_STATUS_RCVD ? 0 : 2 + close.reason.length, frameFinished: true, closeCode: close.code });
    return;
  }
  trace({ direction: "in", opcode: frame.opcode, length: (payload as Uint8Array | string).length, frameFinished: frame.frameFinished });
}

/** Read the header of a frame just encoded (RFC 6455 §5.2): one frame per `encode` call. */
export function traceSent(trace: FrameTrace, bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const opcode = bytes[0]! & 0x0f;
  const masked = (bytes[1]! & 0x80) !== 0;
  let length = bytes[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    length = view.getUint16(2);
    offset = 4;
  } else if (length === 127) {
    length = Number(view.getBigUint64(2));
    offset = 10;
  }
  let closeCode: number | undefined;
  if (opcode === Opcode.CLOSE) {
    closeCode = CloseReason.NO_STATUS_RCVD;
    if (length >= 2) {
      const start = offset + (masked ? 4 : 0);
      const mask = masked ? view.getUint16(offset) : 0;
      closeCode = view.getUint16(start) ^ mask;
    }
  }
  const record: FrameTraceRecord = { direction: "out", opcode, length, frameFinished: (bytes[0]! & 0x80) !== 0 };
  trace(closeCode === undefined ? record : { ...record, closeCode });
}
