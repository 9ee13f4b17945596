#!/usr/bin/env python3
"""Generate a realistic corpus of curated tech-news article files.

Each file is a YAML front-matter block in the same shape as a real curated
news record (title, excerpt, publishedDateTime, webUrl, provider, topics,
images, related, quality, heat, published, ...), optionally followed by a
Markdown body.  Output is deterministic for a given --seed and --count, so
benchmarks and tests can name a corpus by its two numbers.

    python3 tests/corpus.py --count 1000 --out /tmp/content-1k

A copy of the shared corpus generator, so tests and benchmarks need nothing outside the repo.

Only the standard library is used, so it runs before the project installs.
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import random
import re
from pathlib import Path

PROVIDERS = [
    ("CPO Magazine", "cpomagazine.com"), ("TechCrunch", "techcrunch.com"),
    ("The Verge", "theverge.com"), ("Wired", "wired.com"),
    ("Ars Technica", "arstechnica.com"), ("ZDNet", "zdnet.com"),
    ("VentureBeat", "venturebeat.com"), ("Engadget", "engadget.com"),
    ("The Register", "theregister.com"), ("MIT Technology Review", "technologyreview.com"),
    ("IEEE Spectrum", "spectrum.ieee.org"), ("InfoWorld", "infoworld.com"),
    ("Computerworld", "computerworld.com"), ("TechRepublic", "techrepublic.com"),
    ("Global Voices Online", "globalvoices.org"), ("ifsecglobal.com", "ifsecglobal.com"),
    ("Reuters", "reuters.com"), ("BBC News", "bbc.co.uk"),
    ("The Guardian", "theguardian.com"), ("Bloomberg", "bloomberg.com"),
    ("Forbes", "forbes.com"), ("Fast Company", "fastcompany.com"),
    ("Protocol", "protocol.com"), ("The Next Web", "thenextweb.com"),
    ("Analytics India Magazine", "analyticsindiamag.com"), ("Towards Data Science", "towardsdatascience.com"),
    ("KDnuggets", "kdnuggets.com"), ("SiliconANGLE", "siliconangle.com"),
    ("Dark Reading", "darkreading.com"), ("Bleeping Computer", "bleepingcomputer.com"),
    ("Help Net Security", "helpnetsecurity.com"), ("Threatpost", "threatpost.com"),
    ("Le Monde Informatique", "lemondeinformatique.fr"), ("heise online", "heise.de"),
    ("Nikkei Asia", "asia.nikkei.com"), ("South China Morning Post", "scmp.com"),
    ("The Hindu BusinessLine", "thehindubusinessline.com"), ("GeekWire", "geekwire.com"),
    ("Datanami", "datanami.com"), ("HPCwire", "hpcwire.com"),
    ("EE Times", "eetimes.com"), ("AnandTech", "anandtech.com"),
    ("Tom's Hardware", "tomshardware.com"), ("9to5Mac", "9to5mac.com"),
    ("Android Police", "androidpolice.com"), ("Nature", "nature.com"),
    ("Science", "science.org"), ("Quanta Magazine", "quantamagazine.org"),
    ("New Scientist", "newscientist.com"), ("The Conversation", "theconversation.com"),
]

# (topic, weight): a long tail, the way real topic feeds are distributed.
TOPICS = [
    ("AI", 40), ("Machine Learning", 30), ("Computer Vision", 14), ("Cybersecurity", 18),
    ("Data Privacy", 12), ("Cloud Computing", 12), ("Natural Language Processing", 10),
    ("Robotics", 8), ("Autonomous Vehicles", 6), ("Quantum Computing", 5),
    ("Semiconductors", 7), ("Open Source", 7), ("Programming Languages", 5),
    ("Blockchain", 4), ("AR & VR", 4), ("5G", 3), ("Edge Computing", 3),
    ("Data Science", 8), ("Deep Learning", 9), ("Facial Recognition", 4),
    ("Regulation", 6), ("Startups", 6), ("Big Tech", 7), ("Healthcare AI", 3),
    ("Climate Tech", 3), ("Space Tech", 2), ("Chips & Hardware", 4),
    ("DevOps", 3), ("Databases", 3), ("Web Development", 4), ("Mobile", 4),
    ("Ethics in AI", 5), ("Generative AI", 9), ("Large Language Models", 8),
    ("Reinforcement Learning", 2), ("Internet of Things", 3), ("Smart Cities", 1),
    ("Digital Identity", 1), ("Surveillance", 2), ("Misinformation", 2),
    ("Energy", 1), ("FinTech", 2), ("E-commerce", 1), ("Gaming", 2),
    ("Social Media", 3), ("C++", 1), ("Rust", 1), ("Python", 2),
    ("Kubernetes", 1), ("Privacy & Security", 1),
]

COMPANIES = ["Clearview AI", "IBM", "Google", "Microsoft", "OpenAI", "Nvidia", "Meta",
             "Apple", "Amazon", "DeepMind", "Anthropic", "Intel", "AMD", "TSMC",
             "Samsung", "Huawei", "Baidu", "Tesla", "Waymo", "Hugging Face",
             "Stability AI", "Mistral", "Arm", "Qualcomm", "Cisco", "Palantir"]
VERBS = ["launches", "unveils", "faces", "wins", "loses", "expands", "rethinks",
         "open-sources", "acquires", "pauses", "delays", "doubles down on", "tests"]
THINGS = ["facial recognition", "a new language model", "privacy investigation",
          "chip roadmap", "edge AI platform", "data-center expansion", "bias audit",
          "robotics lab", "quantum processor", "cloud region", "vision transformer",
          "content-moderation policy", "AI safety framework", "developer toolkit"]
TAILS = ["", "", "", " amid scrutiny", " — here's why it matters", ": what we know",
         " after regulators push back", " in Europe", " as rivals catch up",
         " (and what it means for developers)", " for 2021", " “at scale”"]
WORDS = ("model data privacy regulators users training cameras accuracy bias "
         "researchers platform cloud latency inference open source release policy "
         "investigation market customers security breach benchmark dataset "
         "hardware efficiency startup funding partnership law enforcement "
         "transparency consent scraping images social media pipeline").split()
UNICODE_TITLES = ["Künstliche Intelligenz: Europas Antwort auf {c}",
                  "L'IA générative selon {c}", "{c} 发布新的视觉模型",
                  "{c}’s “moonshot” 🚀 explained", "Why {c} & <friends> bet on AI"]


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "item"


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def when(rng: random.Random) -> dt.datetime:
    start = dt.datetime(2019, 1, 1, tzinfo=dt.timezone.utc)
    return start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 365 * 7))


def iso(rng: random.Random, moment: dt.datetime) -> str:
    style = rng.random()
    if style < 0.7:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    offset = dt.timezone(dt.timedelta(hours=rng.choice([-8, -7, -5, 1, 2, 5.5, 8, 9])))
    return moment.astimezone(offset).isoformat()


def title(rng: random.Random) -> str:
    company = rng.choice(COMPANIES)
    if rng.random() < 0.05:
        return rng.choice(UNICODE_TITLES).format(c=company)
    return f"{company} {rng.choice(VERBS)} {rng.choice(THINGS)}{rng.choice(TAILS)}"


def q(value) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def pick_topics(rng: random.Random) -> list[str]:
    names, weights = zip(*TOPICS)
    chosen: list[str] = []
    for _ in range(rng.choice([1, 1, 2, 2, 2, 3, 3, 4])):
        topic = rng.choices(names, weights)[0]
        if topic not in chosen:
            chosen.append(topic)
    return chosen


def image(rng: random.Random, domain: str, key: str) -> dict:
    w, h = rng.choice([(1500, 860), (800, 450), (770, 500), (1200, 630), (640, 360)])
    return {"url": f"https://www.{domain}/wp-content/uploads/{key}_{w}.jpg",
            "width": w, "height": h, "isCached": rng.random() < 0.8}


def make_article(rng: random.Random, index: int) -> dict:
    name, domain = rng.choice(PROVIDERS)
    headline = title(rng)
    moment = when(rng)
    path = f"{moment:%Y/%m}/{slugify(headline)}-{index}"
    web = f"https://www.{domain}/{path}/"
    article = {
        "category": rng.choices(["news", "blog", "research", "video"], [80, 10, 6, 4])[0],
        "title": headline,
        "excerpt": " ".join(sentence(rng, rng.randint(8, 22)) for _ in range(rng.randint(1, 3))),
        "moment": moment,
        "publishedDateTime": iso(rng, moment),
        "webUrl": web,
        "type": rng.choices(["article", "video", "slideshow"], [90, 7, 3])[0],
        "quality": rng.randint(10, 99),
        "heat": rng.choice([-1, -1, -1, 0, rng.randint(1, 500)]),
        "published": rng.random() < 0.9,
        "provider": {"name": name, "domain": domain},
        "topics": pick_topics(rng),
        "images": [image(rng, domain, f"{slugify(headline)[:40]}-{i}")
                   for i in range(rng.choice([0, 1, 1, 1, 2]))],
    }
    if rng.random() < 0.75:
        article["ampWebUrl"] = web + "amp/"
        article["cdnAmpWebUrl"] = f"https://www-{domain.replace('.', '-')}.cdn.ampproject.org/c/s/www.{domain}/{path}/amp/"
    elif rng.random() < 0.5:
        article["ampWebUrl"] = None
    return article


def related_entry(rng: random.Random, other: dict) -> dict:
    entry = {key: other[key] for key in ("title", "excerpt", "publishedDateTime", "webUrl")}
    if "ampWebUrl" in other and other["ampWebUrl"]:
        entry["ampWebUrl"] = other["ampWebUrl"]
    entry["type"] = other["type"]
    entry["provider"] = other["provider"]
    entry["quality"] = other["quality"]
    if other["images"]:
        entry["images"] = other["images"][:1]
    return entry


def body(rng: random.Random) -> str:
    paragraphs = [" ".join(sentence(rng, rng.randint(10, 25)) for _ in range(rng.randint(2, 5)))
                  for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.5:
        paragraphs.insert(1, "## Why it matters\n\n" + "\n".join(
            f"- {sentence(rng, rng.randint(4, 9))}" for _ in range(rng.randint(2, 4))))
    if rng.random() < 0.2:
        paragraphs.append("> " + sentence(rng, 14))
    if rng.random() < 0.2:
        paragraphs.append("```python\nresult = model.predict(images)\n```")
    return "\n\n".join(paragraphs) + "\n"


def dump(article: dict, rng: random.Random, with_body: bool) -> str:
    lines = ["---"]
    for key in ("category", "title", "excerpt", "publishedDateTime", "webUrl",
                "ampWebUrl", "cdnAmpWebUrl", "type", "quality", "heat", "published"):
        if key not in article:
            continue
        value = article[key]
        if value is None:
            lines.append(f"{key}: null")
        elif isinstance(value, bool):
            lines.append(f"{key}: {'true' if value else 'false'}")
        elif isinstance(value, int):
            lines.append(f"{key}: {value}")
        else:
            lines.append(f"{key}: {q(value)}")
    lines += ["", "provider:", f"  name: {article['provider']['name']}",
              f"  domain: {article['provider']['domain']}", "", "topics:"]
    lines += [f"  - {t}" if re.fullmatch(r"[A-Za-z0-9 .+]+", t) else f"  - {q(t)}"
              for t in article["topics"]]
    if article["images"]:
        lines += ["", "images:"]
        for img in article["images"]:
            lines += [f"  - url: {q(img['url'])}", f"    width: {img['width']}",
                      f"    height: {img['height']}",
                      f"    isCached: {'true' if img['isCached'] else 'false'}"]
    if article.get("related"):
        lines += ["", "related:"]
        for rel in article["related"]:
            lines.append(f"  - title: {q(rel['title'])}")
            for key in ("excerpt", "publishedDateTime", "webUrl", "ampWebUrl", "type"):
                if key in rel:
                    lines.append(f"    {key}: {q(rel[key])}")
            lines += ["    provider:", f"      name: {rel['provider']['name']}",
                      f"      domain: {rel['provider']['domain']}",
                      f"    quality: {rel['quality']}"]
            if rel.get("images"):
                img = rel["images"][0]
                lines += ["    images:", f"      - url: {q(img['url'])}",
                          f"        width: {img['width']}", f"        height: {img['height']}",
                          f"        isCached: {'true' if img['isCached'] else 'false'}"]
    blob = base64.b64encode(rng.randbytes(256)).decode()
    tag = base64.b64encode(rng.randbytes(16)).decode()
    lines += ["", f"secured: {q(blob + ';' + tag)}", "---", ""]
    text = "\n".join(lines) + "\n"
    return text + (body(rng) if with_body else "")


def generate(count: int, seed: int, out: Path) -> list[Path]:
    rng = random.Random(seed)
    articles = [make_article(rng, i) for i in range(count)]
    by_topic: dict[str, list[dict]] = {}
    for article in articles:
        for topic in article["topics"]:
            by_topic.setdefault(topic, []).append(article)
    for article in articles:
        pool = by_topic[article["topics"][0]]
        others = [a for a in rng.sample(pool, min(len(pool), 6)) if a is not article]
        # Mostly corpus-internal related links, some to stories the site lacks.
        related = [related_entry(rng, o) for o in others[: rng.choice([0, 1, 2, 2, 3, 4])]]
        if rng.random() < 0.3:
            related.append(related_entry(rng, make_article(rng, count + len(related))))
        article["related"] = related
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for index, article in enumerate(articles):
        digest = hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()[:16]
        with_body = rng.random() < 0.3
        suffix = ".md" if with_body and rng.random() < 0.5 else ".txt"
        path = out / f"{index:03d}_{digest}{suffix}"
        path.write_text(dump(article, rng, with_body), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="number of articles")
    parser.add_argument("--seed", type=int, default=467, help="random seed")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    args = parser.parse_args()
    files = generate(args.count, args.seed, args.out)
    print(f"wrote {len(files)} articles to {args.out}")


if __name__ == "__main__":
    main()
