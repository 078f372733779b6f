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
  type Selectable,
  type TlsClientOptions,
  type TlsServerOptions,
  type Watcher,
  ConnectError,
  DEFAULT_BACKLOG,
  ListenError,
  describeError,
} from "./backend.ts";
export { formatHostPort, parseHostPort } from "./address.ts";
export { DescriptorBudget, DescriptorLease } from "./descriptors.ts";
export type { Service } from "./service.ts";
export {
  AlreadyRegisteredError,
  Reactor,
  ReactorError,
  isConnectionKey,
  type ReactorStats,
  type ReadySets,
  type SelectorKey,
} from "./reactor.ts";
export type { Timer } from "./timers.ts";
export { DurationHistogram, HISTOGRAM_BUCKETS, percentileOf, upperBoundMs } from "./histogram.ts";
