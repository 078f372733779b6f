// Addresses as text (lib/reactor/address.ts): the helpers every backend and
// the gateway name their peers with.
import t from "tap";
import { formatHostPort, parseHostPort, plainHost } from "../../lib/reactor/address.ts";

t.test("plainHost: an IPv4-mapped IPv6 address is its IPv4 address; anything else is kept", async (t) => {
  t.equal(plainHost("::ffff:127.0.0.1"), "127.0.0.1", "a dual-stack socket's IPv4 peer");
  t.equal(plainHost("127.0.0.1"), "127.0.0.1");
  t.equal(plainHost("::1"), "::1", "IPv6 stays IPv6");
  t.equal(plainHost("::ffff:7f00:1"), "::ffff:7f00:1", "the hex form is not dotted IPv4: kept");
  t.equal(plainHost(""), "", "unknown (a peer gone before it was asked)");
  t.equal(plainHost(undefined), "");
});

t.test("formatHostPort and parseHostPort are inverses, with brackets for IPv6", async (t) => {
  for (const [host, port, text] of [
    ["127.0.0.1", 5000, "127.0.0.1:5000"],
    ["::1", 9100, "[::1]:9100"],
    ["localhost", 0, "localhost:0"],
  ] as const) {
    t.equal(formatHostPort(host, port), text);
    t.same(parseHostPort(text), { host, port });
  }
  t.equal(parseHostPort("127.0.0.1"), null, "no port");
  t.equal(parseHostPort("127.0.0.1:65536"), null, "port out of range");
  t.equal(parseHostPort("::1:80"), null, "IPv6 without brackets is ambiguous");
});
