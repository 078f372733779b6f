/** The reactor's public API: everything a select loop needs, no runtime imports. */
export { Interest, Ready, type Address } from "./events.ts";
export {
  type Backend,
  type Connection,
  type ConnectOptions,
  type Handle,
  type InputStream,
  type Listener,
  type ListenOptions,
  type Readable,
  type Watcher,
  ConnectError,
  ListenError,
  formatHostPort,
} from "./backend.ts";
export { Reactor, ReactorError, SelectorKey, type ReadySets, type ReactorStats } from "./reactor.ts";
export { Timer } from "./timers.ts";
export { DurationHistogram, HISTOGRAM_BUCKETS, percentileOf, upperBoundMs } from "./histogram.ts";
