import { describe, expect, it } from "vitest";
import { Connections, flowLine, IntentLedger, Port, Zone, type IPeer } from "../../core/index.js";

function peers() {
  const ledger = new IntentLedger();
  const peer = (id: string): IPeer => {
    const p = { id, zone: Zone.CLOUD } as { id: string; zone: Zone; connections: Connections };
    p.connections = new Connections(p, ledger);
    return p;
  };
  return { ledger, api: peer("api"), postgres: peer("postgres"), openbao: peer("openbao"), frontend: peer("frontend") };
}

describe("Connections", () => {
  it("GIVEN api.allowTo(postgres) WHEN both sides are read THEN the flow is api's egress and postgres's ingress", () => {
    const { api, postgres } = peers();
    api.connections.allowTo(postgres, Port.POSTGRES, "data");
    expect(api.connections.egress.map((f) => flowLine(f.from.id, f.to.id, f.port))).toEqual(["api => postgres : tcp/5432"]);
    expect(postgres.connections.ingress.map((f) => flowLine(f.from.id, f.to.id, f.port))).toEqual(["api => postgres : tcp/5432"]);
    expect(api.connections.ingress).toEqual([]);
    expect(postgres.connections.egress).toEqual([]);
  });

  it("GIVEN postgres.allowFrom(api) WHEN read THEN it is the very same flow as api.allowTo(postgres)", () => {
    const a = peers();
    a.postgres.connections.allowFrom(a.api, Port.POSTGRES, "data");
    const b = peers();
    b.api.connections.allowTo(b.postgres, Port.POSTGRES, "data");
    const lines = (l: IntentLedger) => l.flows.map((f) => `${flowLine(f.from.id, f.to.id, f.port)} (${f.reason})`);
    expect(lines(a.ledger)).toEqual(lines(b.ledger));
    expect(a.api.connections.egress).toHaveLength(1);
  });

  it("GIVEN the same flow declared from both ends with the same reason WHEN read THEN it is recorded once", () => {
    const { ledger, api, postgres } = peers();
    api.connections.allowTo(postgres, Port.POSTGRES, "data");
    postgres.connections.allowFrom(api, Port.POSTGRES, "data");
    expect(ledger.flows).toHaveLength(1);
  });

  it("GIVEN the same flow declared twice with different reasons WHEN the second is added THEN it throws naming both reasons", () => {
    const { api, postgres } = peers();
    api.connections.allowTo(postgres, Port.POSTGRES, "data");
    expect(() => postgres.connections.allowFrom(api, Port.POSTGRES, "reports")).toThrow(
      'flow api => postgres : tcp/5432 declared twice with different reasons: "data" and "reports"',
    );
  });

  it("GIVEN the same pair on two ports WHEN read THEN they are two flows, sorted by port", () => {
    const { api, openbao } = peers();
    api.connections.allowTo(openbao, Port.tcp(8201), "cluster").allowTo(openbao, Port.VAULT, "secrets");
    expect(api.connections.egress.map((f) => String(f.port))).toEqual(["tcp/8200", "tcp/8201"]);
  });

  it("GIVEN flows declared in any order WHEN the ledger is read THEN they are sorted by source, destination, port", () => {
    const { ledger, api, postgres, openbao, frontend } = peers();
    openbao.connections.allowTo(postgres, Port.POSTGRES, "dynamic credentials");
    frontend.connections.allowTo(api, Port.tcp(8080), "ssr");
    api.connections.allowTo(postgres, Port.POSTGRES, "data");
    api.connections.allowTo(openbao, Port.VAULT, "secrets");
    expect(ledger.flows.map((f) => flowLine(f.from.id, f.to.id, f.port))).toEqual([
      "api => openbao : tcp/8200",
      "api => postgres : tcp/5432",
      "frontend => api : tcp/8080",
      "openbao => postgres : tcp/5432",
    ]);
  });

  it("GIVEN neverTo WHEN read THEN the must-never pair is recorded once, separately from the allowed flows", () => {
    const { ledger, frontend, postgres } = peers();
    frontend.connections.neverTo(postgres, "the frontend never touches data directly");
    frontend.connections.neverTo(postgres, "the frontend never touches data directly");
    expect(ledger.nevers.map((n) => `${n.from.id} => ${n.to.id}`)).toEqual(["frontend => postgres"]);
    expect(ledger.flows).toEqual([]);
  });

  it("GIVEN a flow WHEN formatted THEN it is the canonical one-line form", () => {
    expect(flowLine("api", "postgres", Port.POSTGRES)).toBe("api => postgres : tcp/5432");
    expect(flowLine("internet", "edge:haproxy", "tcp/443")).toBe("internet => edge:haproxy : tcp/443");
  });
});
