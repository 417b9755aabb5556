"""routing tables per environment

A routing table per gateway environment (``production``, ``staging``…): revisions count
per environment, so the staging table can change without touching production's.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("routing_tables") as batch:
        batch.add_column(
            sa.Column(
                "environment", sa.String(length=32), nullable=False, server_default="production"
            )
        )
        batch.drop_constraint("uq_routing_tables_revision", type_="unique")
        batch.create_unique_constraint(
            "uq_routing_tables_environment_revision", ["environment", "revision"]
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_tables") as batch:
        batch.drop_constraint("uq_routing_tables_environment_revision", type_="unique")
        batch.create_unique_constraint("uq_routing_tables_revision", ["revision"])
        batch.drop_column("environment")
