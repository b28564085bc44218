/** The data of one resource record, as zone.ts compiles it and message.ts writes it. */
export type Rdata =
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "name"; name: string }
  | { kind: "srv"; priority: number; weight: number; port: number; target: string }
  | {
      kind: "soa";
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    };
