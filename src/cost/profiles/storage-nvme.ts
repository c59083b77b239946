/** Default storage device of the shipped profiles: a generic datacenter NVMe SSD (estimate; calibrate does not measure storage). */
import type { StorageDefinition } from '../storage';
import { sourced } from '../sourced';
import { CITE } from '../citations';

export function nvmeStorage(): StorageDefinition {
  return {
    writeMBps: sourced(2000, CITE.nvme, 'estimate'),
    readMBps: sourced(3000, CITE.nvme, 'estimate'),
    latencyUs: sourced(80, CITE.nvme, 'estimate'),
  };
}
