import { type OpenAPIHono, createRoute } from "@hono/zod-openapi";
import type { MessageId } from "@colony/actors";
import type { HostService } from "../host.ts";
import { Approvals, Decision, DecisionRequest } from "./components.ts";
import { BODY_ERRORS, V1_ERRORS, agentOf, agentPath, err, json, jsonRequest, readJsonBody, tokenParam } from "./route-kit.ts";

const list = createRoute({
  method: "get",
  path: "/v1/approvals",
  operationId: "listApprovals",
  summary: "Tool calls waiting for a person, cluster-wide, oldest first.",
  tags: ["approvals"],
  responses: { 200: json(Approvals, "pending approvals"), ...V1_ERRORS },
});

const decide = createRoute({
  method: "post",
  path: "/v1/agents/{type}/{key}/approvals/{callId}",
  operationId: "decideApproval",
  summary: "Approve or deny a tool call waiting for a person.",
  tags: ["approvals"],
  middleware: [readJsonBody] as const,
  request: { params: agentPath.extend({ callId: tokenParam("callId", "the tool call's id, from GET /v1/approvals") }), body: jsonRequest(DecisionRequest) },
  responses: {
    200: json(Decision, "decided; the turn resumes once no call waits"),
    ...BODY_ERRORS,
    404: err("not_found: no such agent, or no such call waits"),
    ...V1_ERRORS,
  },
});

/** Tool calls waiting for a person: the list, and the decision on one. */
export function registerApprovalRoutes(app: OpenAPIHono, service: HostService): void {
  app.openapi(list, async (c) => c.json({ approvals: await service.approvals() }, 200));

  app.openapi(decide, async (c) => {
    const params = c.req.valid("param");
    const callId = params.callId as MessageId;
    const body = c.req.valid("json");
    await service.decide(agentOf(params), callId, body.approve, body.reason);
    return c.json({ callId, approve: body.approve }, 200);
  });
}
