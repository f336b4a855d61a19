"""Portfolio items (with their images and files, and an optional link to a completed contract
both of its sides agreed to show) and certifications of a person or an organization."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from crowdsource.accounts.models import Organization, User
from crowdsource.contracts.models import Contract
from crowdsource.db import UTCDateTime, db, utcnow

ONE_OWNER = "(user_id IS NULL) <> (organization_id IS NULL)"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")


class PortfolioItem(db.Model):
    """A piece of work a solver or an agency shows on its profile."""

    __tablename__ = "portfolio_items"
    __table_args__ = (sa.CheckConstraint(ONE_OWNER, name="one_owner"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: whose profile shows it: a person's or an organization's
    user_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    organization_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )
    title: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    description: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    #: the order on the profile, smallest first
    position: orm.Mapped[int] = orm.mapped_column(default=0)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    #: the completed contract the owner proposed to link, if any
    contract_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("contracts.id"))
    contract_proposed_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: when (and by whom) the enterprise side agreed; the link shows only once set
    contract_consented_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    contract_consented_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))

    user: orm.Mapped[User | None] = orm.relationship(foreign_keys=[user_id])
    organization: orm.Mapped[Organization | None] = orm.relationship()
    contract: orm.Mapped[Contract | None] = orm.relationship()
    files: orm.Mapped[list["PortfolioFile"]] = orm.relationship(
        back_populates="item", order_by="PortfolioFile.id", cascade="all, delete-orphan"
    )

    @property
    def owner(self):
        return self.user or self.organization

    @property
    def shown_contract(self):
        """The linked contract once both sides agreed, else None."""
        if self.contract_id is not None and self.contract_consented_at is not None:
            return self.contract
        return None


class PortfolioFile(db.Model):
    """An image or a file of a portfolio item: public like the item, stored like contract
    files (outside the static folder, under a generated name)."""

    __tablename__ = "portfolio_files"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    item_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("portfolio_items.id", ondelete="CASCADE"), index=True
    )
    original_name: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    stored_name: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    content_type: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    size: orm.Mapped[int]
    uploaded_by_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    item: orm.Mapped[PortfolioItem] = orm.relationship(back_populates="files")

    @property
    def is_image(self):
        return self.content_type in IMAGE_TYPES


class Certification(db.Model):
    """A certificate or qualification shown on a profile, with an optional scan."""

    __tablename__ = "certifications"
    __table_args__ = (sa.CheckConstraint(ONE_OWNER, name="one_owner"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    organization_id: orm.Mapped[int | None] = orm.mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    issuer: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    year: orm.Mapped[int]
    #: the scan, if one was uploaded
    original_name: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    stored_name: orm.Mapped[str | None] = orm.mapped_column(sa.String(64), unique=True)
    content_type: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    user: orm.Mapped[User | None] = orm.relationship()
    organization: orm.Mapped[Organization | None] = orm.relationship()

    @property
    def owner(self):
        return self.user or self.organization
