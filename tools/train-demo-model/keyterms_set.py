"""The keyterm evaluation set (issue 40): sentences with rare names and terms
that the demo model's word LM and training text have never seen, each with the
keyterms a client would send for it, and its speech in held-out voices.

usage: keyterms_set.py texts | keyterms_set.py speak
`texts` writes the committed eval/keyterms-set.json (deterministic; checks every
pool term against words.arpa.gz's 1-grams and corpus.py's training text, and
every other word of a sentence against the 1-grams); `speak` says its
sentences the way `synth.py heldout` says the held-out set (synth.make_one:
held-out voices, no augmentation, seeds 200000 + i so no utterance repeats a
held-out one) into SYNTH_WORK/keyterms/ and SYNTH_WORK/keyterms.jsonl.
Sentences use lower-case a-z, apostrophe and spaces only: the model's tokens.
"""
import gzip
import json
import multiprocessing as mp
import os
import random
import sys

import corpus
import synth

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SET_PATH = os.path.join(ROOT, "eval", "keyterms-set.json")
WORDS_LM = os.path.join(ROOT, "models", "demo-en-ctc", "words.arpa.gz")

# Rare terms said in the sentences, by kind (each said twice).
PEOPLE = """nakamura kowalski wojcik szymanski adebayo okafor venkataraman krishnamurthy subramanian chatterjee
mukherjee siddiqui kobayashi fujimoto ivanova kuznetsov popescu dimitrov horvath shevchenko""".split()
FULL_NAMES = ["priya ramaswamy", "kenji takahashi", "kwame nwachukwu", "elena georgiev", "maria kovalenko", "hiroshi balakrishnan"]
PLACES = "shenzhen oberstdorf tromso plovdiv ostrava szeged mangalore".split()
TOOLS = """kubernetes grafana terraform postgres ansible figma jira databricks istio jaeger protobuf supabase vercel
netlify cloudflare datadog zendesk hubspot airtable trello gitlab pulumi openshift fastapi laravel webpack numpy
matplotlib langchain""".split()
COMPANIES = "anthropic huawei xiaomi".split()
# Keyterms a client sends that no sentence says.
DISTRACTORS = """kustomize linkerd traefik keycloak okta okonkwo bhattacharya zhukova grigoryan timisoara
quetzaltenango weaviate milvus calendly symfony pune kochi tartu vite nuxt""".split()

PERSON_TEMPLATES = [
    "please send the report to {p} before friday",
    "{p} will present the results at the meeting tomorrow",
    "i had lunch with {p} and her team last week",
    "the budget was approved by {p} this morning",
    "can you ask {p} to call me back after four",
    "the new manager is {p} from the london office",
    "we are waiting for {p} to sign the contract",
    "my neighbour {p} has a small garden behind the house",
]
PLACE_TEMPLATES = [
    "the new office in {c} opens next spring",
    "we flew to {c} on monday and came back on thursday",
    "the conference in {c} was cancelled because of the snow",
    "her brother lives near the river in {c}",
    "the train to {c} leaves from platform seven",
]
TOOL_TEMPLATES = [
    "we moved the whole system to {t} last month",
    "the dashboard in {t} shows the error rate going up",
    "can you check why {t} keeps failing on the build server",
    "our team replaced the old tool with {t} this year",
    "the new version of {t} breaks our tests",
    "i spent the whole afternoon reading about {t}",
    "nobody on the team knows how to configure {t}",
]
COMPANY_TEMPLATES = [
    "the phone from {co} was cheaper than i expected",
    "a company called {co} sent us an offer",
    "the engineers at {co} answered our questions quickly",
]
PAIR_TEMPLATES = [
    "{p} wrote the script that talks to {t}",
    "{p} is flying to {c} for the workshop",
    "ask {p} about the contract with {co}",
    "the team in {c} started using {t} in may",
]


def lm_vocabulary():
    words, inside = set(), False
    with gzip.open(WORDS_LM, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line == "\\1-grams:":
                inside = True
            elif line.startswith("\\") and inside:
                break
            elif inside and line:
                words.add(line.split()[1])
    return words


def build_texts():
    rng = random.Random(40)
    kinds = {"p": PEOPLE + FULL_NAMES, "c": PLACES, "t": TOOLS, "co": COMPANIES}
    templates = {"p": PERSON_TEMPLATES, "c": PLACE_TEMPLATES, "t": TOOL_TEMPLATES, "co": COMPANY_TEMPLATES}
    sentences = []
    # Each term twice on its own, in two different templates of its kind.
    for kind, terms in kinds.items():
        for term in terms:
            for template in rng.sample(templates[kind], 2):
                sentences.append((template.format(**{kind: term}), [term]))
    # And some sentences with two terms of different kinds.
    for k in range(20):
        template = PAIR_TEMPLATES[k % len(PAIR_TEMPLATES)]
        fill = {kind: rng.choice(terms) for kind, terms in kinds.items() if "{" + kind + "}" in template}
        sentences.append((template.format(**fill), [fill[kind] for kind in ("p", "c", "t", "co") if kind in fill]))
    rng.shuffle(sentences)
    pool = sorted({t for terms in kinds.values() for t in terms})
    items = []
    for i, (text, said) in enumerate(sentences):
        others = rng.sample([t for t in pool if t not in said], 3)
        distractors = [DISTRACTORS[(2 * i) % len(DISTRACTORS)], DISTRACTORS[(2 * i + 1) % len(DISTRACTORS)]]
        keyterms = said + others + distractors
        rng.shuffle(keyterms)
        items.append({"text": text, "said": said, "keyterms": keyterms})
    return pool, items


def check(pool, items):
    vocabulary = lm_vocabulary()
    train_words = {w for s in corpus.build()[0] for w in s.split()}
    rare_words = {w for term in pool + DISTRACTORS for w in term.split()}
    first_names = {t.split()[0] for t in FULL_NAMES}
    problems = []
    for term in pool + DISTRACTORS:
        for w in term.split():
            if w in first_names:
                continue  # a first name may be common; its surname is the rare part
            if w in vocabulary:
                problems.append(f"{w} is in the word LM")
            if w in train_words:
                problems.append(f"{w} is in the training text")
    for it in items:
        for w in it["text"].split():
            if w not in rare_words and w not in vocabulary:
                problems.append(f"{w} (in '{it['text']}') is not in the word LM")
        for d in DISTRACTORS:
            if f" {d} " in f" {it['text']} ":
                problems.append(f"distractor {d} is said in '{it['text']}'")
    if problems:
        sys.exit("\n".join(sorted(set(problems))))


def speak(args):
    i, text = args
    return synth.make_one((200000 + i, text, True))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "texts":
        pool, items = build_texts()
        check(pool, items)
        about = "issue 40's keyterm evaluation set: made by tools/train-demo-model/keyterms_set.py texts; spoken by keyterms_set.py speak"
        with open(SET_PATH, "w") as f:
            # One sentence a line, so a diff of the set reads.
            f.write(f'{{\n "about": {json.dumps(about)},\n "pool": {json.dumps(pool)},\n "distractors": {json.dumps(DISTRACTORS)},\n "sentences": [\n')
            f.write(",\n".join("  " + json.dumps(it) for it in items))
            f.write("\n ]\n}\n")
        print(f"{SET_PATH}: {len(items)} sentences, {len(pool)} terms said, {len(DISTRACTORS)} distractors")
    elif mode == "speak":
        with open(SET_PATH) as f:
            items = json.load(f)["sentences"]
        outdir = os.path.join(synth.WORK, "keyterms")
        os.makedirs(outdir, exist_ok=True)
        rows = []
        with mp.Pool(synth.WORKERS) as pool:
            for i, r in enumerate(pool.imap(speak, list(enumerate(it["text"] for it in items)))):
                if r is None:
                    continue
                path = os.path.join(outdir, f"{i:05d}.wav")
                synth.write_wav(path, r["samples"])
                rows.append({"index": i, "wav": os.path.relpath(path, synth.WORK), "text": r["text"], "engine": r["engine"], "voice": r["voice"]})
        with open(os.path.join(synth.WORK, "keyterms.jsonl"), "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        print(f"keyterms: {len(rows)} of {len(items)} utterances")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
