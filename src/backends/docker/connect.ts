/** The Docker daemon, or one clear error saying how to get one. */
import Docker from 'dockerode';
import { PrerequisiteError } from '../../errors.js';

export async function connectDocker(): Promise<Docker> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (err) {
    throw new PrerequisiteError(`no Docker daemon answers (${(err as Error).message})`, {
      fix: 'start Docker (Debian: apt-get install -y docker.io && dockerd &), or use --backend netns',
      cause: err,
    });
  }
  return docker;
}
