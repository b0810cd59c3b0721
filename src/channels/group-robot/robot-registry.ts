import type { RobotPlatform } from '../../common/domain/directory.types';
import type { GroupRobotClient } from '../channel.interface';

/** The robot client for a platform: one small class per vendor, picked by the stored platform. */
export class RobotRegistry {
  private readonly clients: ReadonlyMap<RobotPlatform, GroupRobotClient>;

  constructor(clients: GroupRobotClient[]) {
    const map = new Map<RobotPlatform, GroupRobotClient>();
    for (const client of clients) {
      if (map.has(client.platform)) throw new Error(`two robot clients for ${client.platform}`);
      map.set(client.platform, client);
    }
    this.clients = map;
  }

  get(platform: RobotPlatform): GroupRobotClient {
    const client = this.clients.get(platform);
    if (!client) throw new Error(`no robot client for platform ${platform}`);
    return client;
  }

  platforms(): RobotPlatform[] {
    return [...this.clients.keys()];
  }
}
