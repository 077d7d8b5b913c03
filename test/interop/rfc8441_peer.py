"""An independent RFC 8441 peer for the interop tests: Debian's python3-h2 for HTTP/2 and
wsproto's frames-only Connection for WebSocket frames (wsproto documents this pairing for
RFC 8441). Cleartext h2c with prior knowledge.

  rfc8441_peer.py server           listens on 127.0.0.1 (port chosen by the system), prints
                                   "listening ws://127.0.0.1:PORT/", echoes every message of
                                   every extended CONNECT (answering pings and the close)
  rfc8441_peer.py client HOST PORT PATH
                                   sends a text, a binary message of 200000 bytes, a ping and a
                                   close (1000, "bye"), prints a JSON report of what came back
"""
import json
import select
import signal
import socket
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Message, Ping, Pong, TextMessage

PROTOCOL_SETTING = h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL


class Peer:
    """One HTTP/2 connection over a blocking socket, with outgoing data held to flow control."""

    def __init__(self, sock, client_side):
        self.sock = sock
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=client_side, header_encoding="utf-8"))
        self.pending = {}  # stream id -> bytes not yet allowed by flow control
        self.ended = set()  # streams to end once their pending data is sent

    def flush(self):
        for stream_id in list(self.pending):
            data = self.pending[stream_id]
            while data:
                window = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size)
                if window <= 0:
                    break
                self.h2.send_data(stream_id, data[:window])
                data = data[window:]
            self.pending[stream_id] = data
            if not data:
                del self.pending[stream_id]
                if stream_id in self.ended:
                    self.ended.discard(stream_id)
                    self.h2.end_stream(stream_id)
        out = self.h2.data_to_send()
        if out:
            self.sock.sendall(out)

    def send(self, stream_id, data, end=False):
        self.pending[stream_id] = self.pending.get(stream_id, b"") + data
        if end:
            self.ended.add(stream_id)
        self.flush()

    def receive(self, timeout=10):
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            raise TimeoutError("nothing from the peer")
        data = self.sock.recv(65536)
        if not data:
            return None
        events = self.h2.receive_data(data)
        self.flush()
        return events


def serve():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    print(f"listening ws://127.0.0.1:{listener.getsockname()[1]}/", flush=True)
    while True:
        sock, _ = listener.accept()
        serve_connection(sock)


def serve_connection(sock):
    peer = Peer(sock, client_side=False)
    peer.h2.local_settings = h2.settings.Settings(client=False, initial_values={PROTOCOL_SETTING: 1})
    peer.h2.initiate_connection()
    peer.flush()
    sockets = {}
    while True:
        try:
            events = peer.receive(timeout=60)
        except (TimeoutError, ConnectionError):
            break
        if events is None:
            break
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                headers = dict(event.headers)
                if headers.get(":method") == "CONNECT" and headers.get(":protocol") == "websocket":
                    peer.h2.send_headers(event.stream_id, [(":status", "200")])
                    sockets[event.stream_id] = Connection(ConnectionType.SERVER)
                else:
                    peer.h2.send_headers(event.stream_id, [(":status", "400")], end_stream=True)
                peer.flush()
            elif isinstance(event, h2.events.DataReceived):
                peer.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                ws = sockets.get(event.stream_id)
                if ws is None:
                    continue
                ws.receive_data(event.data)
                out = b""
                for ws_event in ws.events():
                    if isinstance(ws_event, Message):
                        out += ws.send(type(ws_event)(data=ws_event.data, message_finished=ws_event.message_finished))
                    elif isinstance(ws_event, Ping):
                        out += ws.send(ws_event.response())
                    elif isinstance(ws_event, CloseConnection):
                        out += ws.send(ws_event.response())
                        peer.send(event.stream_id, out, end=True)
                        out = b""
                if out:
                    peer.send(event.stream_id, out)
                peer.flush()
            elif isinstance(event, h2.events.StreamEnded):
                sockets.pop(event.stream_id, None)
            elif isinstance(event, h2.events.ConnectionTerminated):
                sock.close()
                return
    sock.close()


def client(host, port, path):
    sock = socket.create_connection((host, int(port)))
    peer = Peer(sock, client_side=True)
    peer.h2.initiate_connection()
    peer.flush()
    report = {"settings": None, "status": None, "received": [], "close": None}
    # RFC 8441 §3: wait for the server's SETTINGS_ENABLE_CONNECT_PROTOCOL.
    while report["settings"] is None:
        for event in peer.receive():
            if isinstance(event, h2.events.RemoteSettingsChanged):
                setting = event.changed_settings.get(PROTOCOL_SETTING)
                report["settings"] = setting.new_value if setting else 0
    stream_id = peer.h2.get_next_available_stream_id()
    peer.h2.send_headers(stream_id, [
        (":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
        (":path", path), (":authority", f"{host}:{port}"), ("sec-websocket-version", "13"),
    ])
    peer.flush()
    ws = Connection(ConnectionType.CLIENT)
    big = bytes(i % 251 for i in range(200000))
    parts = []  # wsproto hands a message out in pieces as they arrive
    sent = False
    while report["close"] is None:
        events = peer.receive()
        if events is None:
            break
        for event in events:
            if isinstance(event, h2.events.ResponseReceived):
                report["status"] = dict(event.headers).get(":status")
                if report["status"] == "200" and not sent:
                    sent = True
                    out = ws.send(TextMessage(data="hello over h2 ✓")) + ws.send(BytesMessage(data=big)) + ws.send(Ping(payload=b"p1"))
                    peer.send(stream_id, out)
            elif isinstance(event, h2.events.DataReceived):
                peer.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                ws.receive_data(event.data)
                for ws_event in ws.events():
                    if isinstance(ws_event, Message):
                        parts.append(ws_event.data)
                        if not ws_event.message_finished:
                            continue
                        if isinstance(ws_event, TextMessage):
                            report["received"].append(["text", "".join(parts)])
                        else:
                            data = b"".join(parts)
                            report["received"].append(["binary", len(data), data == big])
                        parts = []
                    elif isinstance(ws_event, Pong):
                        report["received"].append(["pong", ws_event.payload.decode()])
                        peer.send(stream_id, ws.send(CloseConnection(code=1000, reason="bye")))
                    elif isinstance(ws_event, CloseConnection):
                        report["close"] = [ws_event.code, ws_event.reason]
                peer.flush()
            elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)) and report["status"] != "200":
                report["close"] = "stream ended"
    # Our side of the stream ends after the close (the server ended its side first).
    peer.send(stream_id, b"", end=True)
    print(json.dumps(report), flush=True)
    sock.close()


if __name__ == "__main__":
    # Stopped by the test with SIGTERM: exit quietly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if sys.argv[1] == "server":
        serve()
    else:
        client(*sys.argv[2:5])
