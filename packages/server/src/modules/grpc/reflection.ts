import { type DescFile, type Registry, createRegistry, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter } from '@connectrpc/connect';
import { reflection, reflectionV1alpha } from '@loam/api/grpc';

/** The fields of a reflection request both versions share (v1 and v1alpha are the same messages). */
interface ReflectionRequest {
  host: string;
  messageRequest: { case: string | undefined; value?: unknown };
}

/**
 * gRPC server reflection (`grpc.reflection.v1` and the `v1alpha` that older grpcurl and clients
 * ask), answered from the descriptors protoc-gen-es embedded in the generated code: the list of
 * services, and a file by name or by a symbol it defines, with the files it imports.
 */
export class Reflection {
  private readonly registry: Registry;
  private readonly files = new Map<string, DescFile>();

  constructor(
    files: DescFile[],
    private readonly services: string[],
  ) {
    const add = (f: DescFile) => {
      if (this.files.has(f.proto.name)) return;
      this.files.set(f.proto.name, f);
      f.dependencies.forEach(add);
    };
    files.forEach(add);
    this.registry = createRegistry(...this.files.values());
  }

  register(router: ConnectRouter): void {
    router.service(reflection.ServerReflection, { serverReflectionInfo: (requests) => this.answers(requests) });
    router.service(reflectionV1alpha.ServerReflection, { serverReflectionInfo: (requests) => this.answers(requests) });
  }

  // The two versions' messages differ only in their package: the answer is built once, untyped.
  // biome-ignore lint/suspicious/noExplicitAny: the same init shape serves both versions' response types
  private async *answers(requests: AsyncIterable<ReflectionRequest>): AsyncGenerator<any> {
    for await (const req of requests) yield { validHost: req.host, originalRequest: req, messageResponse: this.answer(req) };
  }

  private answer(req: ReflectionRequest) {
    const { case: kind, value } = req.messageRequest;
    if (kind === 'listServices') return { case: 'listServicesResponse', value: { service: this.services.map((name) => ({ name })) } };
    if (kind === 'fileByFilename') return this.fileAnswer(this.files.get(String(value)), `file ${value}`);
    if (kind === 'fileContainingSymbol') return this.fileAnswer(this.fileOfSymbol(String(value)), `symbol ${value}`);
    if (kind === 'allExtensionNumbersOfType')
      return { case: 'allExtensionNumbersResponse', value: { baseTypeName: String(value), extensionNumber: [] } };
    return { case: 'errorResponse', value: { errorCode: 12, errorMessage: `${kind ?? 'empty request'} is not supported` } };
  }

  private fileOfSymbol(symbol: string): DescFile | undefined {
    const found = this.registry.get(symbol) ?? this.registry.get(symbol.slice(0, symbol.lastIndexOf('.'))); // a method: its service
    return found && 'file' in found ? found.file : undefined;
  }

  /** The file and everything it imports, each as a serialized FileDescriptorProto; NOT_FOUND when unknown. */
  private fileAnswer(file: DescFile | undefined, what: string) {
    if (!file) return { case: 'errorResponse', value: { errorCode: 5, errorMessage: `${what} not found` } };
    const all = new Set<DescFile>();
    const add = (f: DescFile) => {
      if (all.has(f)) return;
      all.add(f);
      f.dependencies.forEach(add);
    };
    add(file);
    return {
      case: 'fileDescriptorResponse',
      value: { fileDescriptorProto: [...all].map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) },
    };
  }
}
