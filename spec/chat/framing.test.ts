import t from "tap";
import { FrameResult, LineFramer } from "../../lib/chat/framing.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function lines(framer: LineFramer, ...chunks: string[]): string[] {
  const out: string[] = [];
  for (const c of chunks) framer.push(enc(c), (l) => void out.push(dec(l)));
  return out;
}

t.test("splits on \\n and strips \\r\\n", async (t) => {
  t.same(lines(new LineFramer(), "a\nb\r\nc\n"), ["a", "b", "c"]);
});

t.test("joins a line split across chunks and keeps the tail", async (t) => {
  const f = new LineFramer();
  t.same(lines(f, "hel", "lo\nwor"), ["hello"]);
  t.equal(f.pending, 3);
  t.equal(dec(f.takeTail()!), "wor");
  t.equal(f.takeTail(), null);
});

t.test("empty lines are lines", async (t) => {
  t.same(lines(new LineFramer(), "\n\r\nx\n"), ["", "", "x"]);
});

t.test("bytes pass through unchanged, NUL and invalid UTF-8 included", async (t) => {
  const f = new LineFramer();
  const got: Uint8Array[] = [];
  f.push(new Uint8Array([0, 0xff, 0xfe, 27, 10]), (l) => void got.push(l.slice()));
  t.same([...got[0]!], [0, 0xff, 0xfe, 27]);
});

t.test("a consumer can stop mid-chunk", async (t) => {
  const f = new LineFramer();
  const seen: string[] = [];
  const r = f.push(enc("a\nq\nb\n"), (l) => {
    seen.push(dec(l));
    return dec(l) !== "q";
  });
  t.equal(r, FrameResult.STOPPED);
  t.same(seen, ["a", "q"]);
});

t.test("a line over the limit is refused, within a chunk or across chunks", async (t) => {
  t.equal(
    new LineFramer(4).push(enc("12345\n"), () => {}),
    FrameResult.TOO_LONG,
  );
  const f = new LineFramer(4);
  t.equal(
    f.push(enc("123"), () => {}),
    FrameResult.OK,
  );
  t.equal(
    f.push(enc("45"), () => {}),
    FrameResult.TOO_LONG,
  );
  t.equal(f.pending, 0, "the refused bytes are not kept");
  t.equal(
    new LineFramer(4).push(enc("1234\n"), () => {}),
    FrameResult.OK,
  );
});

t.test("a line of exactly the limit followed by \\r\\n is accepted, in one chunk or split before \\r\\n", async (t) => {
  t.same(lines(new LineFramer(4), "1234\r\n"), ["1234"]);
  t.same(lines(new LineFramer(4), "1234\r", "\n"), ["1234"]);
  t.same(lines(new LineFramer(4), "12", "34\r\n"), ["1234"]);
  t.equal(
    new LineFramer(4).push(enc("12345\r\n"), () => {}),
    FrameResult.TOO_LONG,
  );
  t.equal(
    new LineFramer(4).push(enc("1234x"), () => {}),
    FrameResult.TOO_LONG,
    "a tail one over the limit that is not \\r is refused",
  );
});

t.test("a tail taken before its \\n arrives gives one line, not an extra empty one", async (t) => {
  const f = new LineFramer();
  t.same(lines(f, "hi\r"), []);
  t.equal(dec(f.takeTail()!), "hi", "the \\r is stripped from the tail");
  t.same(lines(f, "\nnext\n"), ["next"], "the late \\n ends the line already taken");
  t.same(lines(f, "\n"), [""], "a later lone \\n is an empty line again");
});

t.test("an unfinished line costs about its own size, not the chunks it arrived in", async (t) => {
  const f = new LineFramer();
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  for (let i = 0; i < 100; i++) f.push(chunk.subarray(i, i + 1), () => {});
  t.equal(f.pending, 100);
  const held = (f as unknown as { tail: { view(): Uint8Array } }).tail.view();
  t.ok(held.buffer.byteLength <= 256, `the tail's storage is ${held.buffer.byteLength} bytes for 100 pending`);
  t.not(held.buffer, chunk.buffer, "the received chunk is not pinned");
  t.same(lines(f, "\n"), ["a".repeat(100)]);
});

t.test("a chunk that is all tail is copied without making a view of it", async (t) => {
  // A view makes the runtime give a small received array an ArrayBuffer of
  // its own (JSC), objects per read that a trickling peer turns into
  // garbage; counting subarray() calls shows the framer makes none.
  class Counted extends Uint8Array {
    views = 0;
    override subarray(begin?: number, end?: number): Uint8Array<ArrayBuffer> {
      this.views++;
      return super.subarray(begin, end);
    }
  }
  const f = new LineFramer();
  let views = 0;
  for (let i = 0; i < 300; i++) {
    const byte = Counted.of(0x78) as Counted;
    f.push(byte, () => t.fail("no line yet"));
    views += byte.views;
  }
  t.equal(views, 0, "no view of any one-byte chunk");
  t.equal(f.pending, 300);
  t.same(lines(f, "\n"), ["x".repeat(300)], "the bytes are all in the tail, in order");
});
