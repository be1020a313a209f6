// Worker-thread entry: registers tsx in this thread, then loads the TypeScript sandbox host.
import { register } from 'tsx/esm/api';

register();
await import('./sandbox-thread.ts');
