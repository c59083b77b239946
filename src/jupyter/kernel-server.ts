/**
 * The Jupyter side of the ptlab kernel: tslab's ZMQ server and request handler, with three changes
 * to how a cell execution is reported (everything else is tslab's own code, delegated, apart from
 * two protocol fixes: kernel_info_reply gets its `status`, comm_info_request gets a comm_info_reply):
 *
 * 1. A failed cell publishes an `error` message ({ename, evalue, traceback}) and puts the same
 *    fields into `execute_reply`, instead of tslab's stderr text plus a bare `status: error`.
 * 2. Each execution publishes `execute_input` with its counter, so front ends and nbclient record
 *    `execution_count` (tslab leaves it null: it sends neither execute_input nor execute_result).
 * 3. `stop_on_error: false` in the request is honoured, as ipykernel does: the error does not abort
 *    the requests queued behind it. With `stop_on_error` true (the default) tslab's behaviour stays:
 *    a failure cancels queued requests for 200 ms (tslab issue #19).
 * And a cell whose last value is displayable (Symbol.for('Jupyter.display'), see cell-runner.ts)
 * publishes an `execute_result` with that value's MIME bundle.
 */
import type {
  Tslab,
  TslabDisplayData,
  TslabHandler,
  TslabTaskQueue,
  TslabZmqMessage,
  TslabZmqServerInstance,
  WriteDisplayData,
  WriteStream,
} from './tslab-api';
import type { CellRunner } from './cell-runner';
import { exceptionError, type JupyterError } from './cell-errors';

/** tslab waits this long after a failure before accepting requests again (tslab/dist/jupyter.js). */
export const TSLAB_ABORT_WINDOW_MS = 200;

interface ExecuteRequest {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  stop_on_error?: boolean;
}

export interface ExecuteIo {
  writeStream: WriteStream;
  writeDisplayData: WriteDisplayData;
  /** publish any other iopub message (execute_input, error) in reply to this request */
  publish(msgType: string, content: Record<string, unknown>): void;
}

export interface ExecuteReplyContent {
  status: 'ok' | 'error' | 'aborted';
  execution_count?: number;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

/** A failure that must cancel queued requests: thrown out of the queue task. */
class CellFailed {
  constructor(
    readonly count: number,
    readonly error: JupyterError,
  ) {}
}

export interface KernelIdentity {
  ptlabVersion: string;
  tslabVersion: string;
  typescriptVersion: string;
}

export class PtlabHandler {
  private execCount = 0;
  private readonly queue: TslabTaskQueue;
  private readonly inner: TslabHandler;

  constructor(
    private readonly tslab: Tslab,
    private readonly runner: CellRunner,
    private readonly identity: KernelIdentity,
  ) {
    this.queue = new tslab.util.TaskQueue();
    // tslab's handler keeps answering everything but execute (kernel info, completion, inspection).
    this.inner = new tslab.jupyter.JupyterHandlerImpl(runner.executor, false);
  }

  handleKernel(): Record<string, unknown> {
    const info = this.inner.handleKernel();
    const languageInfo = info.language_info as Record<string, unknown>;
    return {
      ...info,
      // Required by the messaging protocol for every reply; tslab omits it here.
      status: 'ok',
      implementation: 'ptlab',
      implementation_version: this.identity.ptlabVersion,
      language_info: { ...languageInfo, version: this.identity.typescriptVersion },
      banner: `ptlab ${this.identity.ptlabVersion} (TypeScript ${this.identity.typescriptVersion}, tslab ${this.identity.tslabVersion})`,
    };
  }

  async handleExecute(req: ExecuteRequest, io: ExecuteIo): Promise<ExecuteReplyContent> {
    const stopOnError = req.stop_on_error !== false;
    try {
      const done = await this.queue.add(() => this.execute(req, io, stopOnError));
      if (done.error) return { status: 'error', execution_count: done.count, ...done.error };
      return { status: 'ok', execution_count: done.count };
    } catch (e) {
      // "aborted", as ipykernel sends: tslab's "abort" is a typo in the messaging docs (jupyter_client#1063).
      if (e instanceof this.tslab.util.TaskCanceledError) return { status: 'aborted' };
      this.queue.reset(TSLAB_ABORT_WINDOW_MS);
      if (e instanceof CellFailed) return { status: 'error', execution_count: e.count, ...e.error };
      const error = exceptionError(e, {});
      io.publish('error', { ...error });
      return { status: 'error', ...error };
    }
  }

  private async execute(
    req: ExecuteRequest,
    io: ExecuteIo,
    stopOnError: boolean,
  ): Promise<{ count: number; error?: JupyterError }> {
    const count = ++this.execCount;
    if (!req.silent) io.publish('execute_input', { code: req.code, execution_count: count });
    // As tslab's handleExecuteImpl: output printed later (timers, promises) still reaches this cell.
    process.stdout.write = this.inner.createWriteToIopub('stdout', io.writeStream) as typeof process.stdout.write;
    process.stderr.write = this.inner.createWriteToIopub('stderr', io.writeStream) as typeof process.stderr.write;
    // The display writer read by tslab's display API and by ptlab's display (src/notebook/display.ts).
    this.tslab.jupyter.lastWriteDisplayData = io.writeDisplayData;
    const outcome = await this.runner.run(req.code, count);
    if (outcome.ok) {
      if (outcome.result) io.publish('execute_result', { execution_count: count, data: outcome.result, metadata: {} });
      return { count };
    }
    io.publish('error', { ...outcome.error });
    if (stopOnError) throw new CellFailed(count, outcome.error);
    return { count, error: outcome.error };
  }

  handleIsComplete(req: unknown): unknown {
    return this.inner.handleIsComplete(req);
  }
  handleInspect(req: unknown): unknown {
    return this.inner.handleInspect(req);
  }
  handleComplete(req: unknown): unknown {
    return this.inner.handleComplete(req);
  }
  handleShutdown(req: unknown): unknown {
    return this.inner.handleShutdown(req);
  }
  close(): void {
    this.runner.close();
  }
}

/**
 * tslab's ZmqServer with `handleExecute` replaced: the original (tslab/dist/jupyter.js) builds the
 * stream and display writers the same way but cannot publish other message types.
 */
export function createServer(tslab: Tslab, handler: PtlabHandler, configPath: string): TslabZmqServerInstance {
  const Base = tslab.jupyter.ZmqServer;
  class PtlabZmqServer extends Base {
    /** Settles when every socket is bound (see handleShellMessage). */
    private bound: Promise<void> = Promise.resolve();

    override init(): Promise<void> {
      // tslab's init starts reading the shell socket before all five binds have finished. On a busy
      // machine a request can then arrive while iopub is still binding, and publishing the "busy"
      // status throws EBUSY ("Socket is blocked by a bind or unbind operation"), which drops the
      // request (observed with nbclient's kernel_info retries under load).
      this.bound = super.init();
      return this.bound;
    }

    override async handleShellMessage(sock: unknown, ...frames: unknown[]): Promise<void> {
      // Messages that arrive early wait for the binds, in arrival order (one shared promise).
      await this.bound.catch(() => undefined);
      return super.handleShellMessage(sock, ...frames);
    }

    /** tslab answers comm_info_request with msg_type "complete_reply"; the protocol says comm_info_reply. */
    handleCommInfoRequest(sock: unknown, msg: TslabZmqMessage): void {
      const reply = msg.createReply();
      reply.header.msg_type = 'comm_info_reply';
      reply.content = { status: 'ok', comms: {} };
      reply.signAndSend(this.connInfo.key, sock);
    }

    async handleExecute(sock: unknown, msg: TslabZmqMessage): Promise<void> {
      const publish = (msgType: string, content: Record<string, unknown>): void => {
        const out = msg.createReply();
        out.header.msg_type = msgType;
        out.content = content;
        out.signAndSend(this.connInfo.key, this.iopub);
      };
      const io: ExecuteIo = {
        publish,
        writeStream: (name, text) => publish('stream', { name, text }),
        writeDisplayData: (data: TslabDisplayData, update: boolean) =>
          publish(update ? 'update_display_data' : 'display_data', data as unknown as Record<string, unknown>),
      };
      const reply = msg.createReply();
      reply.header.msg_type = 'execute_reply';
      reply.content = { ...(await handler.handleExecute(msg.content as unknown as ExecuteRequest, io)) };
      reply.signAndSend(this.connInfo.key, sock);
    }
  }
  return new PtlabZmqServer(handler, configPath);
}
