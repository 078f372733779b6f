// The generator's cheap paths (marker prediction from the message size,
// messages read without their timestamp) must find exactly the messages a
// plain marker search finds, whatever mix of prefixes, notices and line
// lengths a server sends.
import t from "tap";
import { Accounting } from "../../bench/accounting.ts";
import { formatMessage, scanChunk, type Parsed } from "../../bench/message.ts";

function scan(text: string, size: number): Parsed[] {
  const seen: Parsed[] = [];
  scanChunk(Buffer.from(text), { phase: 0, sender: 0, seq: 0, tUs: 0 }, (message) => seen.push({ ...message }), true, size);
  return seen;
}

t.test("prediction finds the same messages as searching", async (t) => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const prefixes = ["", "<127.0.0.1:5000> ", "<127.0.0.1:40001> ", "<[::1]:9> ", "<127.0.0.1:6> "];
  for (let round = 0; round < 200; round++) {
    const size = 40 + rand(60);
    let text = "";
    let seq = 0;
    for (let i = 0; i < 50; i++) {
      const kind = rand(10);
      if (kind === 0) text += `Client (127.0.0.1, ${rand(65536)}) connected\n`;
      else if (kind === 1) text += "x\n";
      else if (kind === 2) text += `${prefixes[rand(prefixes.length)]}${formatMessage(1, rand(5), seq++, rand(1e9), size + rand(3))}`;
      else text += `${prefixes[round % prefixes.length]}${formatMessage(1, rand(5), seq++, rand(1e9), size)}`;
    }
    const plain = scan(text, 0);
    t.equal(plain.length, seq, "searching finds every message");
    t.same(scan(text, size), plain, `round ${round}: same messages with prediction (size ${size})`);
  }
});

t.test("without timestamps: the same messages, tUs left alone", async (t) => {
  const text = `<127.0.0.1:5000> ${formatMessage(3, 7, 42, 123456, 64)}Client (127.0.0.1, 9) connected\n${formatMessage(3, 1, 0, 9, 64)}`;
  const out: Parsed = { phase: 0, sender: 0, seq: 0, tUs: -1 };
  const seen: Parsed[] = [];
  for (const size of [0, 64]) scanChunk(Buffer.from(text), out, (message) => seen.push({ ...message }), true, size, false);
  const want = [
    { phase: 3, sender: 7, seq: 42, tUs: -1 },
    { phase: 3, sender: 1, seq: 0, tUs: -1 },
  ];
  t.same(seen, [...want, ...want], "searching and predicting alike");
});

t.test("accounting keeps each send time, past its first allocation", async (t) => {
  const acc = new Accounting(2, 2);
  for (let seq = 0; seq < 3000; seq++) acc.recordSent(1, 1000 + seq);
  acc.recordSent(0, 5);
  t.equal(acc.sentAt(1, 0), 1000);
  t.equal(acc.sentAt(1, 2999), 3999);
  t.equal(acc.sentAt(0, 0), 5);
  t.equal(acc.sentAt(0, 1), 0, "not sent");
  t.equal(acc.sentCount(1), 3000);
});
