import type { ConnectRouter } from '@connectrpc/connect';
import { Code, ConnectError } from '@connectrpc/connect';
import { health } from '@loam/api/grpc';

const { HealthCheckResponse_ServingStatus: Status } = health;

/**
 * The standard `grpc.health.v1.Health` service: SERVING for the server ('') and each service it
 * serves while the database answers, NOT_SERVING once it does not or shutdown has begun; `Watch`
 * sends the status, then each change (checked every `watchMs`), until the client goes away.
 */
export class HealthService {
  private stopping = false;

  constructor(
    private readonly services: string[],
    private readonly databaseUp: () => Promise<boolean>,
    private readonly watchMs = 5000,
  ) {}

  /** Shutdown has begun: every check answers NOT_SERVING. */
  stop(): void {
    this.stopping = true;
  }

  register(router: ConnectRouter): void {
    router.service(health.Health, {
      check: async (req) => ({ status: await this.status(req.service) }),
      watch: (req, call) => this.watch(req.service, call.signal),
    });
  }

  private async status(service: string): Promise<health.HealthCheckResponse_ServingStatus> {
    if (service !== '' && !this.services.includes(service)) throw new ConnectError(`unknown service ${service}`, Code.NotFound);
    return !this.stopping && (await this.databaseUp()) ? Status.SERVING : Status.NOT_SERVING;
  }

  private async *watch(service: string, signal: AbortSignal) {
    if (service !== '' && !this.services.includes(service)) {
      yield { status: Status.SERVICE_UNKNOWN };
      return;
    }
    let last: health.HealthCheckResponse_ServingStatus | undefined;
    while (!signal.aborted) {
      const status = await this.status(service);
      if (status !== last) yield { status };
      last = status;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.watchMs);
        signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  }
}
