import type { Connection, Schema } from 'mongoose';

/** The connection's model called `name` (typed `M`), compiled from `schema` the first time it is asked for. */
export function modelOn<M>(connection: Connection, name: string, schema: Schema): M {
  return (connection.models[name] ?? connection.model(name, schema)) as unknown as M;
}
