/**
 * Which colour a name is shown in, for every client: the terminal client
 * (lib/client/display.ts, as a 256-colour index) and the web page (as CSS,
 * served to it as JavaScript by the gateway). One module, so a person has
 * the same colour in both. It imports nothing: the gateway transpiles this
 * file alone for the browser.
 */

/**
 * Colours names are drawn from: seven of the xterm 256-colour cube, chosen
 * (not the 16 basic ones, whose yellow vanishes on white, blue on black,
 * and red reads as an error) so that each has a contrast ratio of at least
 * 3.3:1 against both black and white, any two differ by a CIE76 colour
 * distance of at least 49, and none is within 60 of the red of `Error:`
 * lines: blue #005fff, green #008700, azure #0087d7, orchid #af5faf,
 * ochre #af8700, violet #d700ff, rose #ff0087.
 */
export const PALETTE: readonly number[] = [27, 28, 32, 133, 136, 165, 198];

/** The 256-colour index for a name seen for the first time: a hash (FNV-1a), so it is stable across lines and sessions. */
export function colorFor(name: string): number {
  let hash = 2166136261;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 16777619);
  return PALETTE[(hash >>> 0) % PALETTE.length]!;
}

/** The intensities of the xterm colour cube's six steps per channel. */
const CUBE_LEVELS = [0, 95, 135, 175, 215, 255];

/** A colour of the xterm cube (16..231) as CSS `#rrggbb`: what a terminal shows for it. */
export function cssColor(index: number): string {
  const n = index - 16;
  const hex = (level: number) => CUBE_LEVELS[level]!.toString(16).padStart(2, "0");
  return `#${hex(Math.floor(n / 36))}${hex(Math.floor(n / 6) % 6)}${hex(n % 6)}`;
}
