import { agentDirectoryContract } from '../testing/index.ts';
import { MemoryAgentDirectory } from './index.ts';

agentDirectoryContract('memory', {
  open: async () => {
    const directory = new MemoryAgentDirectory();
    return [directory, directory];
  },
});
