// The clock moved to src/clock.ts (the client's purge budget and coalescing use it too); kept here for
// the flow layer's importers.
export { type Clock, ManualClock, systemClock } from '../clock.js';
