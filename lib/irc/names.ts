/**
 * How IRC shows a member of the chat (lib/chat/naming.ts's `MemberName`).
 *
 * A member with a nickname is that nickname: our nickname rule (a letter,
 * then letters, digits, `_`, `-`; at most 16) is a subset of IRC's, so it
 * is a valid IRC nick as it is. A member without one (a line client
 * named by its address) gets a nick made of its address that no nickname
 * can be, since it starts with `_`, which our rule never lets a nickname
 * start with:
 *
 *   127.0.0.1:5555              _127_0_0_1_5555
 *   127.0.0.1:5555 on node b7   _127_0_0_1_5555_b7      (another server of a cluster)
 *   [::1]:5555 (not IPv4)       _h5c2b1a0f_5555         (FNV-1a of the host, in hex)
 *
 * Its full mask is `NICK!uPORT@HOST` (`HOST/NODE` for a member of another
 * server): the user part is the port, since the chat knows no ident.
 */
import type { MemberName } from "../chat/naming.ts";

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The IRC nick of `name` as seen on the server of cluster node `node` ("" alone); see the top of this file. */
export function ircNick(name: MemberName, node: string): string {
  if (name.nick !== null) return name.nick;
  const v4 = IPV4.exec(name.host);
  const host = v4 ? `${v4[1]}_${v4[2]}_${v4[3]}_${v4[4]}` : `h${fnv1a(name.host)}`;
  const remote = name.node !== node && name.node !== "" ? `_${name.node.replace(/[^A-Za-z0-9_-]/g, "_")}` : "";
  return `_${host}_${name.port}${remote}`;
}

/** `NICK!uPORT@HOST`: how `name` is the source of a message (see the top of this file). */
export function ircMask(name: MemberName, node: string): string {
  // A host may not start with `:` in a source (`::1` would end the source): `0::1`.
  const host = name.host.startsWith(":") ? `0${name.host}` : name.host || "unknown";
  const remote = name.node !== node && name.node !== "" ? `/${name.node}` : "";
  return `${ircNick(name, node)}!u${name.port}@${host}${remote}`;
}

/** 32-bit FNV-1a of `text`, 8 hex digits. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}
