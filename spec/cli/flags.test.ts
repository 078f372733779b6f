// The programs' flag parser (lib/cli/flags.ts): what bin/server.ts,
// bin/client.ts and bench/args.ts rely on.
import t from "tap";
import { parseFlags, UnknownFlagError, UsageError } from "../../lib/cli/flags.ts";

const specs = {
  host: { type: "string", default: "127.0.0.1", help: "address" },
  port: {
    type: "number",
    default: 5000,
    help: "port",
    check: (v: string | number) => ((v as number) > 0 ? null : "must be greater than 0"),
  },
  color: { type: "boolean", default: true, help: "colours" },
  help: { type: "boolean", short: "h", help: "this text" },
  list: {
    type: "string",
    help: "comma-separated",
    parse: (value: string | undefined, flag: string) => {
      if (!value) throw new UsageError(`${flag} wants items`);
      return value.split(",");
    },
  },
} as const;

t.test("values, defaults and the other arguments", async (t) => {
  const flags = parseFlags(["--host", "::1", "--port=7", "extra", "--no-color", "--", "--port", "8"], specs);
  t.equal(flags.host, "::1");
  t.equal(flags.port, 7);
  t.equal(flags.color, false, "--no-NAME turns a boolean off");
  t.same(flags._, ["extra", "--port", "8"], "after --, everything is an argument");
  t.equal(flags.help, undefined, "no default: undefined");
  t.equal(parseFlags([], specs).port, 5000, "default");
  t.equal(parseFlags(["--color=false"], specs).color, false);
});

t.test("a short alias", async (t) => {
  t.equal(parseFlags(["-h"], specs).help, true);
  t.same(parseFlags(["-x", "-hh"], specs)._, ["-x", "-hh"], "other one-dash arguments stay arguments");
});

t.test("parse: a flag of the program's own type and wording", async (t) => {
  t.same(parseFlags(["--list", "a,b"], specs).list, ["a", "b"]);
  t.same(parseFlags(["--list=c"], specs).list, ["c"]);
  t.throws(() => parseFlags(["--list"], specs), new UsageError("--list wants items"), "called with undefined when the value is missing");
  t.throws(() => parseFlags(["--list="], specs), new UsageError("--list wants items"));
});

t.test("bad command lines", async (t) => {
  t.throws(() => parseFlags(["--port", "x"], specs), new UsageError('--port needs a number, got "x"'));
  t.throws(() => parseFlags(["--port"], specs), new UsageError("--port needs a value"));
  t.throws(() => parseFlags(["--port", "0"], specs), new UsageError("--port: must be greater than 0"));
  t.throws(() => parseFlags(["--color=maybe"], specs), new UsageError('--color takes no value (or true/false), got "maybe"'));
  const unknown = (() => {
    try {
      parseFlags(["--colour=no"], specs);
    } catch (err) {
      return err;
    }
  })();
  t.ok(unknown instanceof UnknownFlagError && unknown instanceof UsageError, "an UnknownFlagError is a UsageError");
  t.match(unknown, { message: "unknown flag --colour", flag: "colour", arg: "--colour=no" });
});

t.test("positional flags: HOST PORT as arguments, converted and checked like the flags", async (t) => {
  const positional = {
    host: { type: "string", default: "127.0.0.1", value: "HOST", help: "address", positional: true },
    port: { ...specs.port, value: "PORT", positional: true },
    color: specs.color,
  } as const;
  const parse = (...argv: string[]) => parseFlags(argv, positional);
  t.match(parse(), { host: "127.0.0.1", port: 5000, _: [] }, "none: the defaults");
  t.match(parse("example.org"), { host: "example.org", port: 5000, _: [] }, "HOST alone");
  t.match(parse("example.org", "6000"), { host: "example.org", port: 6000, _: [] }, "HOST PORT");
  t.match(parse("--no-color", "example.org", "--port", "7000"), { host: "example.org", port: 7000, color: false }, "HOST among flags");
  t.match(parse("--", "-dash-host"), { host: "-dash-host" }, "after --, even what looks like a flag");
  const refused: Array<[string[], string]> = [
    [["a", "1", "b"], 'unexpected argument "b"'],
    [["a", "--host", "b"], "HOST is given twice: as an argument and as --host"],
    [["a", "1", "--port", "2"], "PORT is given twice: as an argument and as --port"],
    [["a", "x"], 'PORT needs a number, got "x"'],
    [["a", "0"], "PORT: must be greater than 0"],
  ];
  for (const [argv, message] of refused) {
    t.throws(() => parse(...argv), new UsageError(message), argv.join(" "));
  }
  t.match(parseFlags(["a", "b"], specs), { _: ["a", "b"] }, "without positional flags, arguments stay in _");
});
