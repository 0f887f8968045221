"""The demo publisher's articles: teasers shown on the demo site, bodies sold through Dropgate."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoArticle:
    slug: str
    title: str
    section: str
    teaser: str
    body_html: str
    price_drops: int


def _body(*paragraphs: str) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


ARTICLES: tuple[DemoArticle, ...] = (
    DemoArticle(
        slug="harbour-tides",
        title="The harbour that learned to read the tides",
        section="Science",
        teaser="A fishing town rebuilt its sea wall around a century of handwritten tide logs.",
        body_html=_body(
            "When the council digitised the harbour master's ledgers, engineers found a slow "
            "drift in the spring tides that no gauge had been running long enough to see.",
            "The new wall is lower than the old plans, but longer, and it bends where the logs "
            "say the water has always pushed hardest.",
        ),
        price_drops=200_000,
    ),
    DemoArticle(
        slug="night-trains",
        title="Night trains are back, and they are full",
        section="Travel",
        teaser="Sleeper routes cancelled a decade ago now sell out weeks ahead.",
        body_html=_body(
            "Operators say the demand surprised them: business travellers who once flew now "
            "book a compartment and arrive rested.",
            "The bottleneck is rolling stock. Most sleeper carriages in service were built in "
            "the 1980s, and the factories that made them have long since closed.",
        ),
        price_drops=150_000,
    ),
    DemoArticle(
        slug="city-bees",
        title="What the city's bees tell us about its parks",
        section="Environment",
        teaser="Pollen in rooftop hives maps which green spaces are really alive.",
        body_html=_body(
            "Researchers sequenced pollen from forty rooftop hives across the city over two "
            "summers.",
            "The richest honey came not from the grand parks but from allotments and railway "
            "embankments that nobody mows.",
        ),
        price_drops=100_000,
    ),
    DemoArticle(
        slug="chess-clocks",
        title="The quiet revolution in chess clocks",
        section="Culture",
        teaser="A small change to time controls has reshaped how grandmasters play endgames.",
        body_html=_body(
            "Increment timing, which adds seconds after every move, ended the era of frantic "
            "flag-falls.",
            "Players now steer for long technical endgames they would once have avoided, "
            "confident the clock will not decide the game for them.",
        ),
        price_drops=120_000,
    ),
    DemoArticle(
        slug="bread-economics",
        title="The economics of the neighbourhood bakery",
        section="Business",
        teaser="Why a loaf costs what it does, from flour futures to the 4 a.m. shift.",
        body_html=_body(
            "Flour is a smaller share of a loaf's price than most customers guess; labour and "
            "rent dominate.",
            "Bakeries that survive tend to sell a second thing well: coffee, sandwiches or "
            "wholesale to restaurants.",
        ),
        price_drops=180_000,
    ),
    DemoArticle(
        slug="library-of-seeds",
        title="Inside the library that lends seeds",
        section="Community",
        teaser="Borrow a packet in spring, return seeds from your best plant in autumn.",
        body_html=_body(
            "The seed library began as a shelf of envelopes and now catalogues six hundred "
            "varieties adapted to local soil.",
            "Its volunteers keep notes on every return, building a record of which plants thrive "
            "in which streets.",
        ),
        price_drops=90_000,
    ),
)
