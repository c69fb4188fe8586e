"""standings by partner

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_standings_partner_id_period"), "standings", ["partner_id", "period"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_standings_partner_id_period"), table_name="standings")
