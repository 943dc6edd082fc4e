"""Generate ``feedback.csv``: 200 rows of customer feedback for a made-up product.

The data analyst and the scatter-gather scenario need feedback that looks real (mixed
topics, channels, ratings, feature requests in different phrasings) yet is the same on
every machine, so it comes from this seeded script. Run it again to rebuild the file:

    .venv/bin/python sample_agents/data/make_feedback.py
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

SEED = 20240611
ROWS = 200
OUT = Path(__file__).with_name("feedback.csv")

CHANNELS = ["email", "in-app", "app store", "support chat", "survey", "twitter"]
PLANS = ["free", "team", "business", "enterprise"]
FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Emeka",
    "Fatima",
    "Goran",
    "Hana",
    "Ivan",
    "Jia",
    "Kofi",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Yusuf",
]
COMPANY = [
    "Acme Logistics",
    "Bluebird Dental",
    "Cobalt Labs",
    "Driftwood Studio",
    "Evergreen Foods",
    "Fjord Analytics",
    "Granite Legal",
    "Harbor Health",
    "Indigo Retail",
    "Juniper Schools",
    "Kestrel Media",
    "Lumen Energy",
    "Maple Finance",
    "Nimbus Travel",
    "Orchid Events",
]

# Sentences per theme: (positive, negative). The analyst finds themes by keywords, so the
# wording varies the way real feedback does.
THEMES: dict[str, tuple[list[str], list[str]]] = {
    "performance": (
        [
            "The new dashboard loads fast, even with our big projects.",
            "Search feels quick now, great speed improvement.",
        ],
        [
            "The board is really slow when a project has more than 500 cards.",
            "Pages take ages to load in the morning, the lag is painful.",
            "Everything freezes for a few seconds when I open the timeline view.",
        ],
    ),
    "pricing": (
        [
            "Fair price for what we get, the team plan is good value.",
            "Billing is clear and the invoice arrives on time.",
        ],
        [
            "The price jump from team to business is too expensive for a small company.",
            "We were charged twice this month, please fix the billing.",
            "Per-seat pricing makes it costly to invite occasional guests.",
        ],
    ),
    "onboarding": (
        [
            "Setup took ten minutes, the onboarding checklist is excellent.",
            "The getting started tutorial made it easy to invite my team.",
        ],
        [
            "Onboarding was confusing, I did not know where to start.",
            "The setup wizard skipped the step to import our old tasks.",
        ],
    ),
    "integrations": (
        [
            "The Slack integration works perfectly for our standups.",
            "GitHub sync keeps our issues in order, love it.",
        ],
        [
            "The Google Calendar integration stopped syncing last week.",
            "Our Jira import failed halfway and left duplicates.",
            "The API rate limit is too low for our integration.",
        ],
    ),
    "reliability": (
        ["No downtime in months, very reliable.", "Solid and stable, we never lose work."],
        [
            "The app crashed twice today and I lost my notes.",
            "We hit an error saying 'something went wrong' whenever we save a template.",
            "There was an outage during our sprint planning, a real bug in sync.",
        ],
    ),
    "usability": (
        [
            "The interface is clean and intuitive.",
            "Drag and drop in the board is smooth and easy to use.",
        ],
        [
            "The settings menu is hard to find and the layout is cluttered.",
            "Too many clicks to move a task, the UI is confusing.",
            "The font is tiny and the contrast is poor on the design of the calendar.",
        ],
    ),
    "support": (
        [
            "Support answered within an hour and solved it, thank you!",
            "The support team was friendly and helpful.",
        ],
        [
            "I waited three days for support to answer a simple question.",
            "The help center articles are outdated and support never replied.",
        ],
    ),
    "mobile": (
        [
            "The mobile app is great for checking tasks on the go.",
            "The iOS app got much better with the last update.",
        ],
        [
            "The Android app logs me out every day.",
            "Notifications on the mobile app arrive hours late.",
            "The phone app cannot attach photos from the camera.",
        ],
    ),
    "reporting": (
        [
            "The weekly report is exactly what my manager wants.",
            "Charts in the analytics tab are clear.",
        ],
        [
            "Exporting a report to Excel loses all the formatting.",
            "The analytics charts do not let us filter by team.",
        ],
    ),
    "security": (
        [
            "Single sign-on setup with Okta was painless.",
            "Good to see two-factor authentication enforced for admins.",
        ],
        [
            "We need an audit log for compliance and cannot find one.",
            "Password reset emails take too long, a security worry for our admins.",
        ],
    ),
}
WEIGHTS = {
    "performance": 14,
    "pricing": 10,
    "onboarding": 7,
    "integrations": 12,
    "reliability": 11,
    "usability": 12,
    "support": 8,
    "mobile": 10,
    "reporting": 8,
    "security": 5,
}

# Feature requests: the same wish in several phrasings, as customers really write them.
REQUESTS = {
    "dark mode": 14,
    "an offline mode for the mobile app": 9,
    "recurring tasks": 11,
    "a Microsoft Teams integration": 8,
    "CSV export for reports": 7,
    "custom fields on cards": 7,
    "a public API webhook for task changes": 5,
    "time tracking": 6,
    "a Gantt chart view": 4,
    "bulk editing of tasks": 4,
}
PREFIXES = [
    "I wish you had {r}.",
    "Please add {r}.",
    "Would love {r}!",
    "It would be great to have {r}.",
    "Can you add {r}?",
    "Feature request: {r}.",
    "We really need {r}.",
]
NEUTRAL = [
    "We use it every day for client work.",
    "Our team of twelve moved here last year.",
    "Overall it does the job.",
    "Thanks for listening.",
    "",
]


def make_rows(seed: int = SEED, rows: int = ROWS) -> list[dict[str, object]]:
    """Build the feedback rows from ``seed``; the same seed always gives the same rows."""
    rng = random.Random(seed)
    themes, weights = zip(*WEIGHTS.items(), strict=True)
    requests, request_weights = zip(*REQUESTS.items(), strict=True)
    start = dt.date(2024, 1, 3)
    out: list[dict[str, object]] = []
    for i in range(rows):
        picked = list(dict.fromkeys(rng.choices(themes, weights, k=rng.choice([1, 1, 2]))))
        mood = rng.random()
        rating = (
            5 if mood > 0.8 else 4 if mood > 0.6 else 3 if mood > 0.45 else 2 if mood > 0.2 else 1
        )
        sentences = []
        for theme in picked:
            good, bad = THEMES[theme]
            sentences.append(rng.choice(good if rating >= 4 else bad))
        if rng.random() < 0.35:
            sentences.append(
                rng.choice(PREFIXES).format(r=rng.choices(requests, request_weights)[0])
            )
        sentences.append(rng.choice(NEUTRAL))
        rng.shuffle(sentences)
        date = start + dt.timedelta(days=int(i * 1.6) + rng.randint(0, 1))
        out.append(
            {
                "id": f"FB-{1001 + i}",
                "date": date.isoformat(),
                "customer": f"{rng.choice(FIRST)} ({rng.choice(COMPANY)})",
                "plan": rng.choice(PLANS),
                "channel": rng.choice(CHANNELS),
                "rating": rating,
                "text": " ".join(s for s in sentences if s),
            }
        )
    return out


def main() -> None:
    """Write ``feedback.csv`` next to this script."""
    rows = make_rows()
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
