/**
 * MemoryBudget / MemoryAccount (codec/memory-budget.ts): pure bookkeeping shared by the
 * connections of a server. Reservations are all or nothing, releases never go below zero, and
 * every account draws on the one budget.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryAccount, MemoryBudget } from "../../codec/memory-budget.js";
import { MemoryBudget as ExportedBudget, MemoryAccount as ExportedAccount } from "../../src/index.js";

describe("MemoryBudget: construction", () => {
  it("takes any number of bytes ≥ 0, Infinity included", () => {
    for (const limit of [0, 1, 200, 1.5, 2 ** 40, Number.MAX_SAFE_INTEGER, Infinity]) {
      const budget = new MemoryBudget(limit);
      expect(budget.limit).toBe(limit);
      expect(budget.used).toBe(0);
    }
  });

  it("refuses a negative, NaN or non-number limit with a RangeError", () => {
    for (const limit of [-1, -0.5, -Infinity, Number.NaN]) {
      expect(() => new MemoryBudget(limit), String(limit)).toThrow(RangeError);
    }
    for (const limit of ["100", null, undefined, {}, 10n] as unknown[]) {
      expect(() => new MemoryBudget(limit as number), String(limit)).toThrow(RangeError);
    }
  });

  it("is exported from the package entry point", () => {
    expect(ExportedBudget).toBe(MemoryBudget);
    expect(ExportedAccount).toBe(MemoryAccount);
    expect(new ExportedBudget(10).account()).toBeInstanceOf(MemoryAccount);
  });
});

describe("MemoryAccount: arithmetic", () => {
  it("reserves up to the limit exactly, and refuses one byte more without reserving anything", () => {
    const budget = new MemoryBudget(1000);
    const account = budget.account();
    expect(account.available).toBe(1000);
    expect(account.reserve(600)).toBe(true);
    expect([account.held, budget.used, account.available]).toEqual([600, 600, 400]);
    // 401 would exceed: refused, and nothing of it is reserved (not 400 of it).
    expect(account.reserve(401)).toBe(false);
    expect([account.held, budget.used, account.available]).toEqual([600, 600, 400]);
    expect(account.reserve(400)).toBe(true);
    expect([account.held, budget.used, account.available]).toEqual([1000, 1000, 0]);
    expect(account.reserve(1)).toBe(false);
    expect(account.held).toBe(1000);
  });

  it("a reservation larger than the whole budget is refused at once", () => {
    const budget = new MemoryBudget(100);
    const account = budget.account();
    expect(account.reserve(101)).toBe(false);
    expect(account.reserve(Infinity)).toBe(false);
    expect([account.held, budget.used]).toEqual([0, 0]);
  });

  it("reserving 0 or a negative amount succeeds and changes nothing, even on a full budget", () => {
    const budget = new MemoryBudget(10);
    const account = budget.account();
    expect(account.reserve(10)).toBe(true);
    expect(account.reserve(0)).toBe(true);
    expect(account.reserve(-5)).toBe(true);
    expect([account.held, budget.used]).toEqual([10, 10]);
  });

  it("release never goes below 0, and never gives back another account's bytes", () => {
    const budget = new MemoryBudget(1000);
    const a = budget.account();
    const b = budget.account();
    expect(a.reserve(100)).toBe(true);
    expect(b.reserve(300)).toBe(true);
    a.release(250); // more than a holds: only its 100 go back
    expect([a.held, b.held, budget.used]).toEqual([0, 300, 300]);
    a.release(10);
    a.release(-10);
    a.releaseAll();
    expect([a.held, b.held, budget.used]).toEqual([0, 300, 300]);
    b.release(-1);
    b.release(0);
    expect([b.held, budget.used]).toEqual([300, 300]);
    b.release(120);
    expect([b.held, budget.used]).toEqual([180, 180]);
    b.releaseAll();
    expect([b.held, budget.used, b.available]).toEqual([0, 0, 1000]);
  });

  it("accounts share one budget: what one holds, the others cannot have", () => {
    const budget = new MemoryBudget(1000);
    const a = budget.account();
    const b = budget.account();
    const c = budget.account();
    expect(a.reserve(700)).toBe(true);
    expect(b.available).toBe(300);
    expect(c.available).toBe(300);
    expect(b.reserve(301)).toBe(false);
    expect(b.reserve(300)).toBe(true);
    expect(c.reserve(1)).toBe(false);
    expect([a.available, b.available, c.available]).toEqual([0, 0, 0]);
    a.releaseAll();
    expect(c.reserve(700)).toBe(true);
    expect([a.held, b.held, c.held, budget.used]).toEqual([0, 300, 700, 1000]);
  });

  it("an Infinity budget grants everything finite and counts it", () => {
    const budget = new MemoryBudget(Infinity);
    const a = budget.account();
    const b = budget.account();
    expect(a.reserve(2 ** 50)).toBe(true);
    expect(b.reserve(2 ** 51)).toBe(true);
    expect(a.available).toBe(Infinity);
    expect(budget.used).toBe(2 ** 50 + 2 ** 51);
    a.releaseAll();
    b.releaseAll();
    expect(budget.used).toBe(0);
  });

  it("a 0 budget grants nothing but empty reservations", () => {
    const account = new MemoryBudget(0).account();
    expect(account.reserve(1)).toBe(false);
    expect(account.reserve(0)).toBe(true);
    expect(account.available).toBe(0);
  });

  it("any sequence of operations keeps used = Σ held ≤ limit, held ≥ 0, and refusals change nothing", () => {
    const op = fc.record({
      account: fc.nat(3),
      kind: fc.constantFrom("reserve", "release", "releaseAll"),
      bytes: fc.integer({ min: -10, max: 600 }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1500 }), fc.array(op, { maxLength: 60 }), (limit, ops) => {
        const budget = new MemoryBudget(limit);
        const accounts = [budget.account(), budget.account(), budget.account(), budget.account()];
        const model = [0, 0, 0, 0];
        for (const { account, kind, bytes } of ops) {
          const target = accounts[account]!;
          if (kind === "reserve") {
            const total = model.reduce((sum, held) => sum + held, 0);
            const expected = bytes <= 0 || total + bytes <= limit;
            expect(target.reserve(bytes)).toBe(expected);
            if (expected && bytes > 0) model[account]! += bytes;
          } else if (kind === "release") {
            target.release(bytes);
            model[account] = Math.max(0, model[account]! - Math.max(0, bytes));
          } else {
            target.releaseAll();
            model[account] = 0;
          }
          const total = model.reduce((sum, held) => sum + held, 0);
          expect(accounts.map((a) => a.held)).toEqual(model);
          expect(budget.used).toBe(total);
          expect(budget.used).toBeLessThanOrEqual(limit);
          for (const a of accounts) expect(a.available).toBe(limit - total);
        }
      }),
      { numRuns: 300 },
    );
  });
});
