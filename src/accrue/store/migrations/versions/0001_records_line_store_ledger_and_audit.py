"""records, line store, ledger and audit

Revision ID: 0001
Revises: (none)
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("inputs_digest", sa.String(length=80), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_name", sa.String(length=500), nullable=False),
        sa.Column("file_digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Integer(), nullable=False),
        sa.Column("corrected", sa.Integer(), nullable=False),
        sa.Column("outdated", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("received_at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    op.create_index(op.f("ix_batches_file_digest"), "batches", ["file_digest"], unique=False)
    op.create_table(
        "closed_periods",
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("closed_at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("label", name=op.f("pk_closed_periods")),
    )
    op.create_table(
        "fx_rates",
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("from_currency", sa.String(length=3), nullable=False),
        sa.Column("to_currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint(
            "valid_from", "from_currency", "to_currency", name=op.f("pk_fx_rates")
        ),
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("segment", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
    )
    op.create_table(
        "pending_recalc",
        sa.Column("root_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("root_id", name=op.f("pk_pending_recalc")),
    )
    op.create_table(
        "products",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("product_line", sa.String(length=100), nullable=False),
        sa.Column("uom", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_products")),
    )
    op.create_table(
        "program_versions",
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("takes_effect", sa.Date(), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("program_id", "version", name=op.f("pk_program_versions")),
    )
    op.create_table(
        "reps",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("partner_ids", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reps")),
    )
    op.create_table(
        "settlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("program_digest", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.Column("adjustments", sa.String(length=40), nullable=False),
        sa.Column("carried_in", sa.String(length=40), nullable=False),
        sa.Column("payout", sa.String(length=40), nullable=False),
        sa.Column("carried_out", sa.String(length=40), nullable=False),
        sa.Column("paid", sa.String(length=40), nullable=False),
        sa.Column("lines_as_of_batch", sa.Integer(), nullable=False),
        sa.Column("standing", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlements")),
        sa.UniqueConstraint(
            "program_id",
            "partner_id",
            "period",
            name=op.f("uq_settlements_program_id_partner_id_period"),
        ),
    )
    op.create_index(op.f("ix_settlements_partner_id"), "settlements", ["partner_id"], unique=False)
    op.create_table(
        "standings",
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("root_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.Column("payout", sa.String(length=40), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("program_id", "partner_id", "period", name=op.f("pk_standings")),
    )
    op.create_index(op.f("ix_standings_root_id"), "standings", ["root_id"], unique=False)
    op.create_table(
        "journals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("booked_period", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("reverses", sa.Integer(), nullable=True),
        sa.Column("settlement_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reverses"], ["journals.id"], name=op.f("fk_journals_reverses_journals")
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlements.id"],
            name=op.f("fk_journals_settlement_id_settlements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journals")),
    )
    op.create_index(
        op.f("ix_journals_program_id_partner_id_period"),
        "journals",
        ["program_id", "partner_id", "period"],
        unique=False,
    )
    op.create_table(
        "master_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_master_changes_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_master_changes")),
    )
    op.create_table(
        "rejected_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("row", sa.Text(), nullable=False),
        sa.Column("line_key", sa.String(length=300), nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_rejected_rows_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["batches.id"], name=op.f("fk_rejected_rows_resolved_by_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_rows")),
    )
    op.create_index(op.f("ix_rejected_rows_batch_id"), "rejected_rows", ["batch_id"], unique=False)
    op.create_index(op.f("ix_rejected_rows_line_key"), "rejected_rows", ["line_key"], unique=False)
    op.create_table(
        "postings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("journal_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("booked_period", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["journals.id"], name=op.f("fk_postings_journal_id_journals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postings")),
    )
    op.create_index(op.f("ix_postings_journal_id"), "postings", ["journal_id"], unique=False)
    # The line store lives in PostgreSQL only; embedded, lines live in lines.duckdb.
    if op.get_bind().dialect.name == "postgresql":
        op.create_table(
            "line_store",
            sa.Column("source", sa.String(length=100), nullable=False),
            sa.Column("document", sa.String(length=100), nullable=False),
            sa.Column("line_no", sa.BigInteger(), nullable=False),
            sa.Column("kind", sa.String(length=8), nullable=False),
            sa.Column("partner_id", sa.String(length=64), nullable=False),
            sa.Column("sku", sa.String(length=64), nullable=False),
            sa.Column("date", sa.Date(), nullable=False),
            sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
            sa.Column("amount_micros", sa.BigInteger(), nullable=False),
            sa.Column("currency", sa.String(length=3), nullable=False),
            sa.Column("revision", sa.Integer(), nullable=False),
            sa.Column("batch_id", sa.BigInteger(), nullable=False),
            sa.Column("row_digest", sa.String(length=32), nullable=False),
            sa.Column("superseded_by", sa.BigInteger(), nullable=True),
        )
        op.create_index("ix_line_store_batch", "line_store", ["batch_id"], unique=False)
        op.create_index(
            "ix_line_store_key", "line_store", ["source", "document", "line_no"], unique=False
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_line_store_key", table_name="line_store")
        op.drop_index("ix_line_store_batch", table_name="line_store")
        op.drop_table("line_store")
    op.drop_index(op.f("ix_postings_journal_id"), table_name="postings")
    op.drop_table("postings")
    op.drop_index(op.f("ix_rejected_rows_line_key"), table_name="rejected_rows")
    op.drop_index(op.f("ix_rejected_rows_batch_id"), table_name="rejected_rows")
    op.drop_table("rejected_rows")
    op.drop_table("master_changes")
    op.drop_index(op.f("ix_journals_program_id_partner_id_period"), table_name="journals")
    op.drop_table("journals")
    op.drop_index(op.f("ix_standings_root_id"), table_name="standings")
    op.drop_table("standings")
    op.drop_index(op.f("ix_settlements_partner_id"), table_name="settlements")
    op.drop_table("settlements")
    op.drop_table("reps")
    op.drop_table("program_versions")
    op.drop_table("products")
    op.drop_table("pending_recalc")
    op.drop_table("partners")
    op.drop_table("fx_rates")
    op.drop_table("closed_periods")
    op.drop_index(op.f("ix_batches_file_digest"), table_name="batches")
    op.drop_table("batches")
    op.drop_table("audit_log")
