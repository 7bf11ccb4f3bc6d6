"""The REST routes on faust's web server: readiness and the workflows this worker holds."""

from __future__ import annotations

import logging
from uuid import UUID

from faust.web import Blueprint, Request, Response, View

from dagger.tasks._engine import engine

logger = logging.getLogger("dagger.service.services")

service_blueprint = Blueprint("service_state")
tasks_blueprint = Blueprint("template_tasks")


def error(view: View, status: int, message: str, detail: str) -> Response:
    """A JSON error body ``{"error": ..., "detail": ...}`` with ``status``."""
    return view.json({"error": message, "detail": detail}, status=status)


@service_blueprint.route("/ready", name="task_resource")
class ServiceStateView(View):
    """``GET /service/ready``: whether the engine has started."""

    async def get(self, request: Request) -> Response:
        """Return ``{"is_ready": true|false}``."""
        running = engine()
        return self.json({"is_ready": bool(running is not None and running.started_flag)})


@tasks_blueprint.route("/instance/{dag_id}", name="dag_by_id")
class DagProcessView(View):
    """``GET /tasks/instance/{id}``: one workflow with all its tasks."""

    async def get(self, request: Request, dag_id: str) -> Response:
        """Return the workflow, 400 for an id that is not a UUID, 404 for an unknown one."""
        try:
            workflow_id = UUID(dag_id)
        except ValueError:
            return error(self, 400, "invalid workflow id", f"{dag_id!r} is not a UUID")
        try:
            payload = engine().get_instance_payload(workflow_id)
        except Exception:
            logger.exception("Reading workflow %s failed", workflow_id)
            return error(self, 503, "store unavailable", "the workflow could not be read; try again")
        if payload is None:
            return error(self, 404, "workflow not found", f"no workflow {workflow_id} on this worker")
        return self.bytes(payload, content_type="application/json")


@tasks_blueprint.route("/instances", name="task_resource")
class TemplateProcessView(View):
    """``GET /tasks/instances``: every workflow held by the partitions this worker owns."""

    async def get(self, request: Request) -> Response:
        """Return a JSON list of workflows, each with all its tasks."""
        try:
            body = b"[" + b",".join(engine()._store.iter_workflows()) + b"]"
        except Exception:
            logger.exception("Listing workflows failed")
            return error(self, 503, "store unavailable", "the workflows could not be listed; try again")
        return self.bytes(body, content_type="application/json")
