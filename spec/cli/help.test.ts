// --help as lib/cli/help.ts lays it out (wrapped to a width, flags in a
// narrow column), and what npm does to flags given before `--`
// (lib/cli/program.ts `npmTookFlags`).
import t from "tap";
import { formatHelp, HELP_WIDTH, helpWidth, wrapText } from "../../lib/cli/help.ts";
import { npmHint, npmTookFlags } from "../../lib/cli/program.ts";

const specs = {
  host: { type: "string", default: "127.0.0.1", value: "HOST", help: "address", positional: true },
  port: { type: "number", default: 5000, value: "PORT", help: "port", positional: true },
  "max-clients": { type: "number", value: "N", help: "clients at once; more are told the server is full, ".repeat(3) },
  cluster: {
    type: "string",
    value: "redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]",
    help: "share the room with other servers:\n(default: none)",
  },
  quiet: { type: "boolean", default: false, help: "fewer lines" },
  help: { type: "boolean", short: "h", help: "this text" },
  version: { type: "boolean", help: "the version" },
} as const;

const lines = (text: string) => text.replace(/\n$/, "").split("\n");

t.test("wrapText: words filled into lines, white space of any kind one space, long words whole", async (t) => {
  t.same(wrapText("one two three four", 9), ["one two", "three", "four"]);
  t.same(wrapText("a\nb \n\n c", 80), ["a b c"], "newlines are spaces");
  t.same(wrapText("x https://example.com/a/long/path y", 10, "> ", "  "), ["> x", "  https://example.com/a/long/path", "  y"]);
  t.same(wrapText("", 10, "  "), ["  "], "nothing: one line");
});

t.test("formatHelp: every line within the width, flags in a narrow column", async (t) => {
  for (const columns of [80, 60, 100]) {
    const help = formatHelp("prog [flags]", "A program that does things, ".repeat(6), specs, { columns, more: "More in docs/x.md." });
    const over = lines(help).filter((line) => line.length > columns);
    t.same(over, [], `no line over ${columns}`);
    const flagRows = lines(help).filter((line) => /^ {2}-/.test(line));
    t.equal(flagRows.length, Object.keys(specs).length, "each flag starts a line");
    const column = /^( {2}--host HOST +)\S/.exec(help.split("\n").find((line) => line.includes("--host"))!)![1]!.length;
    t.ok(column <= 28, `descriptions start by column 28 (${column})`);
    for (const line of lines(help).filter((row) => row.startsWith(" ") && !/^ {2}-/.test(row)))
      t.match(line, new RegExp(`^ {${column}}\\S`), "a description's next lines are indented to its column");
    t.match(
      help,
      /^ {2}--cluster redis:\/\/\[USER\[:PASSWORD\]@\]HOST\[:PORT\]\[\/DB\]\n {10,28}share the room/m,
      "a long flag has a line of its own",
    );
    t.notMatch(help, /^\(default/m, "a newline inside a help text does not start a line at column 0");
    t.match(help, /^ {2}-h, --help +this text$/m, "the short alias beside the flag");
    t.match(help, /HOST as an argument\s+\(default:\s+127\.0\.0\.1\)/, "positional flags and defaults are said");
    t.match(help, /\n\nMore in docs\/x\.md\.\n$/, "the closing paragraph");
  }
});

t.test("helpWidth: the terminal's columns, else 80", async (t) => {
  t.equal(HELP_WIDTH, 80);
  t.equal(helpWidth({ isTTY: true, columns: 132 }), 132);
  t.equal(helpWidth({ isTTY: false, columns: 132 }), 80, "a pipe");
  t.equal(helpWidth({}), 80);
  const narrow = formatHelp("prog", "summary", specs, { columns: 10 });
  t.ok(
    lines(narrow).every((line) => line.length <= 40 || !line.includes(" ", 30)),
    "a silly width is taken as 40, not one word a line",
  );
});

t.test("npmTookFlags: flags npm kept for itself, and the command meant", async (t) => {
  const env = (vars: Record<string, string>) => ({ npm_lifecycle_event: "start", ...vars });
  t.equal(npmTookFlags(specs, ["20003"], { npm_lifecycle_event: "start" }), null, "npm took nothing");
  t.same(npmTookFlags(specs, ["20003"], env({ npm_config_port: "true" })), {
    flags: ["--port"],
    valueless: true,
    instead: "npm start -- --port 20003",
  });
  t.equal(
    npmTookFlags(specs, ["7"], env({ npm_config_max_clients: "true" }), "npm run client")?.instead,
    "npm run client -- --max-clients 7",
    "- as _, and the program's own npm command",
  );
  t.equal(npmTookFlags(specs, ["7"], env({ "npm_config_max-clients": "true" }))?.instead, "npm start -- --max-clients 7", "or kept");
  t.equal(npmTookFlags(specs, ["--port", "1"], env({ npm_config_port: "true" })), null, "a flag also given is not npm's doing");
  t.same(npmTookFlags(specs, ["--", "a b"], env({ npm_config_quiet: "false" })), {
    flags: ["--no-quiet"],
    valueless: false,
    instead: "npm start -- --no-quiet 'a b'",
  });
  t.equal(npmTookFlags(specs, [], env({ npm_config_quiet: "warn" })), null, "a boolean flag's variable that is no boolean is npm's own");
  t.equal(npmTookFlags(specs, [], env({ npm_config_help: "true", npm_config_version: "true" })), null, "npm answers those itself");
  t.equal(
    npmTookFlags(specs, ["x", "1"], { npm_lifecycle_event: "client", npm_config_host: "true", npm_config_port: "true" })?.instead,
    "npm run client -- --host HOST --port PORT",
    "which value is whose is not known: placeholders",
  );
  const took = npmTookFlags(specs, ["20003"], env({ npm_config_port: "true" }))!;
  t.equal(npmHint(took), "npm took --port for itself (a program's flags go after `--`): did you mean `npm start -- --port 20003`?");
});
