import { afterEach, describe, expect, it } from "vitest";
import { getDefaultMasker, getMasker, setMasker } from "../../codec/mask.js";
import { nativeMasker, useNativeMasker } from "../../src/node/native-masker.js";

describe("wsmachine/node native masker", () => {
  afterEach(() => setMasker(null));

  it("finds bufferutil (a devDependency) and masks like the byte loop, short and long", () => {
    const native = nativeMasker();
    expect(native).not.toBeNull();
    const key = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
    for (const length of [0, 3, 63, 64, 65, 1000, 70_000]) {
      const data = new Uint8Array(length).map((_, i) => i * 7);
      const expected = data.map((byte, i) => byte ^ key[i & 3]!);
      const target = new Uint8Array(length + 5);
      native!.masker.mask(data, key, target, 5);
      expect(target.subarray(5)).toEqual(expected);
      native!.masker.unmask(data, key);
      expect(data).toEqual(expected);
    }
  });

  it("useNativeMasker() makes it the process masker; setMasker(null) restores the default", () => {
    const source = useNativeMasker();
    expect(source === "bufferutil" || source === "node:http").toBe(true);
    expect(getMasker()).toBe(nativeMasker()!.masker);
    setMasker(null);
    expect(getMasker()).toBe(getDefaultMasker());
  });
});
