/** What every route handler gets: the engine (opened once for the service) and the API's sessions. */
import type { Engine } from '../engine.js';
import type { Sessions } from './sessions.js';

export interface Api {
  engine: Engine;
  sessions: Sessions;
}
