"""indexes for the dashboard's pages

Each page asks for one page of rows in a stated order; these indexes let it read just
those rows whatever the workspace's size (benchmarks/dashboard.py: 100,000 runs):

- ``runs (model_id, kind, id)``: a model's latest run of each monitoring check (home, the
  monitoring pages), a model's rollout decisions and reports, newest first;
- ``runs (model_id, version, id)``: a version's runs, newest first, and their count;
- ``events (model_id, created_at)``: a model's history, newest first, a page at a time;
- ``alerts (resolved_at, last_at)``: the open alerts, latest first.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_runs_model_kind_id": ("runs", ["model_id", "kind", "id"]),
    "ix_runs_model_version_id": ("runs", ["model_id", "version", "id"]),
    "ix_events_model_created_at": ("events", ["model_id", "created_at"]),
    "ix_alerts_resolved_last_at": ("alerts", ["resolved_at", "last_at"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
