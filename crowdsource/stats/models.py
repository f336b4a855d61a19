"""The summary tables of the statistics, and the indexes their refresh reads by.

``stats_cells`` holds, per month (platform time zone), contract type and center, the counts and
sums every figure is added up from; ``stats_months`` says when each month was last computed.
Every fact is counted in the month it happened (a contract when signed, a bid when received,
money when it moved), and none of those change afterwards, so a month's cells are final once
they have been computed after the month ended (summary.py).

The indexes on other packages' tables are declared here, beside the only queries that need
them (a month's facts are read by their time columns); migration 0006 creates them.
"""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from crowdsource.bids.models import Bid
from crowdsource.contracts.models import Contract
from crowdsource.db import UTCDateTime, db, enum_column_type
from crowdsource.payments.models import JournalEntry
from crowdsource.tasks.models import ContractType, Task


class StatsMonth(db.Model):
    """A month whose cells have been computed, and when."""

    __tablename__ = "stats_months"

    #: "YYYY-MM" in the platform's time zone
    month: orm.Mapped[str] = orm.mapped_column(sa.String(7), primary_key=True)
    refreshed_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)


class StatsCell(db.Model):
    """What happened in one month, for one contract type, in one center (not its subtree)."""

    __tablename__ = "stats_cells"

    month: orm.Mapped[str] = orm.mapped_column(sa.String(7), primary_key=True)
    contract_type: orm.Mapped[ContractType] = orm.mapped_column(
        enum_column_type(ContractType, "contract_type"), primary_key=True
    )
    center_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("centers.id"), primary_key=True)
    #: contracts signed, and their value (fen)
    contracts: orm.Mapped[int] = orm.mapped_column(default=0)
    value_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, default=0)
    #: seconds from the task's publication to the award, summed over the contracts signed
    award_seconds: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, default=0)
    #: tasks published; bids received (on tasks of this type and center)
    tasks: orm.Mapped[int] = orm.mapped_column(default=0)
    bids: orm.Mapped[int] = orm.mapped_column(default=0)
    #: money that moved (fen): into escrow, released, refunded, platform commission, brokerage
    funded_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, default=0)
    released_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, default=0)
    refunded_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, default=0)
    commission_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, default=0)
    brokerage_fen: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, default=0)


sa.Index("ix_contracts_signed_at", Contract.__table__.c.signed_at)
sa.Index("ix_tasks_published_at", Task.__table__.c.published_at)
sa.Index("ix_bids_created_at", Bid.__table__.c.created_at)
sa.Index("ix_journal_entries_created_at", JournalEntry.__table__.c.created_at)
