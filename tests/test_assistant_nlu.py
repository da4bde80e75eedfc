"""The local assistant, in-process: entities, sentiment, purchase intent, the dialog policy and
the trainable intent classifier (evaluated on a labelled set it was not trained on).

Pure unit tests: no server, no database. Run with ``-s`` to see the evaluation figures.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadgraph.domain.assistant.classifier import Example, IntentClassifier, split_examples
from leadgraph.domain.assistant.engine import AssistantTurn, LocalAssistant
from leadgraph.domain.assistant.entities import extract_entities
from leadgraph.domain.assistant.policy import QUESTIONS
from leadgraph.domain.assistant.signals import purchase_intent, sentiment, strongest
from leadgraph.domain.assistant.training_data import BUILTIN_EXAMPLES
from leadgraph.domain.conversations import CollectedInfo, Conversation, DialogStep
from leadgraph.domain.leads import LeadIntent

EVAL_SET = Path(__file__).parent / "data" / "intent_eval.jsonl"
INTENTS = ("greet", "goodbye", "question", "pricing", "demo_request", "purchase", "complaint",
           "feedback", "provide_info", "smalltalk", "other")
# Measured 0.833 (55/66) with the built-in training set; the margin leaves room for a few
# predictions to shift when examples are added to the training set, and no more.
MIN_ACCURACY = 0.75
# No intent may be mostly wrong (the weakest, complaint, measured 3/6).
MIN_PER_INTENT = 0.5


@pytest.fixture(scope="module")
def engine() -> LocalAssistant:
    return LocalAssistant()


def entities_of(text: str) -> list[tuple[str, str]]:
    return [(entity.type, entity.value) for entity in extract_entities(text)]


def values(text: str, entity_type: str) -> list[str]:
    return [value for kind, value in entities_of(text) if kind == entity_type]


def load_eval_set() -> list[Example]:
    examples = []
    for line in EVAL_SET.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            examples.append(Example(text=row["text"], intent=row["intent"]))
    return examples


# -- entities -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "email"), [
    ("my email is Jane.Doe@Example.COM", "jane.doe@example.com"),
    ("mail: anna+leads@sub.example.co.uk, thanks", "anna+leads@sub.example.co.uk"),
    ("reach me at tom@globex.com or call", "tom@globex.com"),
])
def test_email_is_extracted_and_lowercased(text: str, email: str) -> None:
    assert values(text, "email") == [email]


@pytest.mark.parametrize(("text", "e164"), [
    ("call me on +1 415 555 2671", "+14155552671"),
    ("you can reach me at (415) 555-2671", "+14155552671"),
    ("you can reach me at 555 123 4567", "+15551234567"),
    ("phone: +44 20 7946 0958", "+442079460958"),
    ("my number is +49 30 12345678", "+493012345678"),
])
def test_phone_is_normalised_to_e164(text: str, e164: str) -> None:
    assert values(text, "phone") == [e164]


def test_an_email_or_a_budget_is_not_mistaken_for_a_phone() -> None:
    assert entities_of("write to john.smith2024@example.com") == [
        ("email", "john.smith2024@example.com")]
    assert entities_of("10,000 to 20,000 dollars") == [("budget", "$10,000-$20,000")]


@pytest.mark.parametrize(("text", "name"), [
    ("My name is Jane Cooper", "Jane Cooper"),
    ("my name's Omar", "Omar"),
    ("I'm Bob", "Bob"),
    ("I\u2019m Zoë Kravitz-Smith", "Zoë Kravitz-Smith"),
    ("Hi, this is Maria from Initech", "Maria"),
    ("I'm Jane Cooper from Acme Corp", "Jane Cooper"),
])
def test_person_name(text: str, name: str) -> None:
    assert values(text, "person") == [name]


@pytest.mark.parametrize("text", [
    "I'm looking for an app", "I'm Interested in an app", "I am ready to start",
    "i'm jane",  # lower case is not taken as a name
])
def test_phrases_that_are_not_names(text: str) -> None:
    assert values(text, "person") == []


@pytest.mark.parametrize(("text", "company"), [
    ("I work at Globex and we need a site", "Globex"),
    ("We are Initech LLC", "Initech LLC"),
    ("I'm from Acme Corp", "Acme Corp"),
    ("Hi, this is Maria from Initech", "Initech"),
])
def test_company(text: str, company: str) -> None:
    assert values(text, "company") == [company]


def test_a_month_or_quarter_after_from_is_not_a_company() -> None:
    assert values("we start from March", "company") == []
    assert values("launch from Q3", "company") == []


@pytest.mark.parametrize(("text", "budget"), [
    ("Our budget is $10k-20k", "$10,000-$20,000"),
    ("10,000 to 20,000 dollars", "$10,000-$20,000"),
    ("between 20k and 30k dollars", "$20,000-$30,000"),
    ("our budget is 10-20k", "$10,000-$20,000"),
    ("budget: 5 to 10 thousand", "$5,000-$10,000"),
    ("under 5k", "under $5,000"),
    ("less than 8,000 usd", "under $8,000"),
    ("we have around 3000 dollars", "around $3,000"),
    ("at least $50k", "over $50,000"),
    ("our budget is 50k", "$50,000"),
    ("$1.5m", "$1,500,000"),
])
def test_budget_is_normalised(text: str, budget: str) -> None:
    assert values(text, "budget") == [budget]


@pytest.mark.parametrize("text", ["I have 2 kids", "we are 12 people", "version 2 to 3"])
def test_small_or_unqualified_numbers_are_not_budgets(text: str) -> None:
    assert values(text, "budget") == []


@pytest.mark.parametrize(("text", "timeline"), [
    ("we need it in 3 months", "3 months"),
    ("I need it in 1 month", "1 month"),
    ("in two weeks", "2 weeks"),
    ("2-3 weeks", "2-3 weeks"),
    ("we'd like to launch by Q2", "by Q2"),
    ("ASAP please", "ASAP"),
    ("it's urgent", "ASAP"),
    ("next week", "next week"),
    ("by the end of the year", "end of the year"),
    ("before March", "by March"),
])
def test_timeline_is_normalised(text: str, timeline: str) -> None:
    assert values(text, "timeline") == [timeline]


@pytest.mark.parametrize(("text", "project_type"), [
    ("an iOS app for our gym", "mobile_app"),
    ("we want a react native app", "mobile_app"),
    ("a web app with a dashboard", "web_app"),
    ("a SaaS for dentists", "web_app"),
    ("a new website for the bakery", "website"),
    ("a landing page", "website"),
    ("an online store for sneakers", "ecommerce"),
    ("a marketplace for used bikes", "ecommerce"),
    ("a chatbot for support", "chatbot"),
    ("machine learning to forecast demand", "ai_solution"),
])
def test_project_type(text: str, project_type: str) -> None:
    assert values(text, "project_type") == [project_type]


def test_features_are_listed_in_a_stable_order_without_duplicates() -> None:
    text = ("It needs payments with Stripe, login, push notifications, a map, booking, "
            "an admin panel and payment via PayPal")
    assert values(text, "feature") == [
        "payment integration", "user authentication", "push notifications",
        "booking/scheduling", "admin panel", "maps/geolocation",
    ]


def test_one_message_can_carry_every_slot() -> None:
    text = ("My name is Ana Lopez from Lopez Ltd, ana@lopez.dev, +1 415 555 2671. We need an "
            "online store with payments and inventory, launch by Q2, budget under 5k")
    assert entities_of(text) == [
        ("email", "ana@lopez.dev"),
        ("phone", "+14155552671"),
        ("person", "Ana Lopez"),
        ("company", "Lopez Ltd"),
        ("budget", "under $5,000"),
        ("timeline", "by Q2"),
        ("project_type", "ecommerce"),
        ("feature", "payment integration"),
        ("feature", "inventory management"),
    ]


def test_plain_chat_has_no_entities() -> None:
    assert entities_of("hello, how are you today?") == []


# -- sentiment ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "sign"), [
    ("I love it", 1), ("great job, thanks", 1), ("this is terrible", -1),
    ("very disappointed, the app is broken", -1), ("ok, tuesday then", 0),
])
def test_sentiment_sign(text: str, sign: int) -> None:
    score = sentiment(text)
    assert (score > 0) - (score < 0) == sign, score


@pytest.mark.parametrize(("positive", "negated"), [
    ("I like it", "I don't like it"),
    ("the support was helpful", "the support was not helpful"),
    ("this is terrible", "this is not terrible"),
])
def test_negation_flips_the_sign(positive: str, negated: str) -> None:
    before, after = sentiment(positive), sentiment(negated)
    assert before != 0
    assert (before > 0) != (after > 0)
    assert abs(after) < abs(before)  # a negated word counts less than the plain one


def test_intensifiers_strengthen() -> None:
    assert sentiment("very good") > sentiment("good") > 0
    assert sentiment("extremely bad") < sentiment("bad") < 0


@pytest.mark.parametrize("text", [
    "worst worst terrible awful broken useless unacceptable",
    "perfect amazing excellent fantastic wonderful love love",
    "extremely extremely great", "", "?!",
])
def test_sentiment_stays_in_range(text: str) -> None:
    assert -1.0 <= sentiment(text) <= 1.0


def test_sentiment_saturates_at_the_bounds() -> None:
    assert sentiment("worst worst terrible awful broken useless unacceptable") == -1.0
    assert sentiment("perfect amazing excellent fantastic wonderful love love") == 1.0


# -- purchase intent ------------------------------------------------------------------------


def test_hot_with_its_reasons() -> None:
    level, reasons = purchase_intent("I want to buy, send me the contract", "purchase", set())
    assert level is LeadIntent.HOT
    assert reasons == ["Wants to buy", "Asked for a contract", "Purchase intent detected"]


def test_budget_and_timeline_together_make_a_visitor_hot() -> None:
    level, reasons = purchase_intent("3 months, 20k", "provide_info", {"budget", "timeline"})
    assert (level, reasons) == (LeadIntent.HOT, ["Gave both budget and timeline"])


@pytest.mark.parametrize(("text", "intent", "entity_types", "reasons"), [
    ("can I see a demo", "demo_request", set(), ["Requested a demo", "Intent: demo_request"]),
    ("how much does it cost", "pricing", set(), ["Asked about cost", "Intent: pricing"]),
    ("we need an ios app", "provide_info", {"project_type"},
     ["Stated a need", "Described a project"]),
    ("our budget is 20k", "provide_info", {"budget"}, ["Shared a budget"]),
])
def test_warm_with_its_reasons(
    text: str, intent: str, entity_types: set[str], reasons: list[str]
) -> None:
    assert purchase_intent(text, intent, entity_types) == (LeadIntent.WARM, reasons)


def test_cold_wins_over_warm_phrases() -> None:
    level, reasons = purchase_intent("just browsing, the price is too expensive", "pricing",
                                     set())
    assert level is LeadIntent.COLD
    assert reasons == ["Just browsing", "Finds it too expensive"]


def test_neutral_has_no_reasons() -> None:
    assert purchase_intent("hello there", "greet", set()) == (LeadIntent.NEUTRAL, [])


def test_a_conversation_keeps_its_strongest_signal_but_cold_cools_warm() -> None:
    assert strongest(LeadIntent.NEUTRAL, LeadIntent.WARM) is LeadIntent.WARM
    assert strongest(LeadIntent.WARM, LeadIntent.NEUTRAL) is LeadIntent.WARM
    assert strongest(LeadIntent.WARM, LeadIntent.HOT) is LeadIntent.HOT
    assert strongest(LeadIntent.HOT, LeadIntent.WARM) is LeadIntent.HOT
    assert strongest(LeadIntent.WARM, LeadIntent.COLD) is LeadIntent.COLD
    assert strongest(LeadIntent.HOT, LeadIntent.COLD) is LeadIntent.HOT
    assert strongest(LeadIntent.COLD, LeadIntent.WARM) is LeadIntent.WARM


def test_analysis_combines_intent_entities_sentiment_and_purchase_intent(
    engine: LocalAssistant,
) -> None:
    analysis = engine.analyze("We need a mobile app with payments in 3 months, budget $10k-20k")
    assert analysis.intent == "provide_info"
    assert [(e.type, e.value) for e in analysis.entities] == [
        ("budget", "$10,000-$20,000"), ("timeline", "3 months"), ("project_type", "mobile_app"),
        ("feature", "payment integration"),
    ]
    assert analysis.purchase_intent is LeadIntent.HOT
    assert "Gave both budget and timeline" in analysis.purchase_reasons
    assert 0 < analysis.confidence <= 1


def test_informative_small_talk_is_taken_as_information(engine: LocalAssistant) -> None:
    # "lol" alone is smalltalk; with an email in it, the visitor is giving their details.
    assert engine.analyze("lol").intent == "smalltalk"
    analysis = engine.analyze("lol ok it's jo@example.org")
    assert analysis.intent == "provide_info"
    assert analysis.confidence >= 0.6


# -- dialog policy --------------------------------------------------------------------------


def new_conversation() -> Conversation:
    now = datetime.now(UTC)
    return Conversation(id="c-1", created_at=now, last_active=now)


def advance(
    engine: LocalAssistant, conversation: Conversation, text: str
) -> tuple[Conversation, AssistantTurn]:
    """What ``send_message`` keeps between turns, without the database."""
    turn = engine.turn(conversation, text)
    return conversation.model_copy(update={
        "collected_info": turn.collected_info, "current_step": turn.step, "asked": turn.asked,
        "purchase_intent": turn.purchase_intent,
    }), turn


SCRIPT = [
    "Hello!",
    "I need a mobile app for my business",
    "It should have payments and user login",
    # Two slots in one message: the budget is never asked for.
    "We'd like to launch in 3 months with a budget of $10k-20k",
    "I'm Jane Cooper",
    "jane@acme.io",
    "No, that's everything, thanks",
]


def test_the_policy_walks_the_steps_and_summarises(engine: LocalAssistant) -> None:
    conversation = new_conversation()
    assert conversation.current_step is DialogStep.GREETING
    steps, replies = [], []
    for text in SCRIPT:
        conversation, turn = advance(engine, conversation, text)
        steps.append(turn.step)
        replies.append(turn.reply)

    assert steps == [
        DialogStep.REQUIREMENT_GATHERING,  # greeted, asks the project type
        DialogStep.REQUIREMENT_GATHERING,  # asks the features
        DialogStep.TIMELINE_BUDGET,        # asks the timeline
        DialogStep.CONTACT_INFO,           # got timeline and budget, asks the name
        DialogStep.CONTACT_INFO,           # asks email or phone
        DialogStep.SUMMARY,
        DialogStep.COMPLETED,
    ]
    assert replies[0] == ("Hello! I'm here to help you plan your project. "
                          + QUESTIONS["project_type"])
    assert replies[1] == QUESTIONS["features"].format(project="mobile app")
    assert replies[3] == ("Noted: 3 months and a budget of $10,000-$20,000. "
                          + QUESTIONS["name"])
    assert replies[4] == "Nice to meet you, Jane. " + QUESTIONS["contact"]
    assert replies[5] == (
        "Thanks, I've got your contact details. Here's a summary of what we discussed: a mobile "
        "app with payment integration and user authentication; timeline: 3 months; budget: "
        "$10,000-$20,000. We'll reach you at jane@acme.io. Is there anything else you'd like "
        "to add?"
    )
    assert conversation.collected_info == CollectedInfo(
        project_type="mobile_app", features=["payment integration", "user authentication"],
        timeline="3 months", budget_range="$10,000-$20,000", name="Jane Cooper",
        email="jane@acme.io",
    )
    assert conversation.purchase_intent is LeadIntent.HOT


def test_no_question_is_asked_again_for_a_filled_slot(engine: LocalAssistant) -> None:
    conversation = new_conversation()
    filled_at: dict[str, int] = {}
    asked_at: dict[str, list[int]] = {slot: [] for slot in QUESTIONS}
    for index, text in enumerate(SCRIPT):
        conversation, turn = advance(engine, conversation, text)
        for slot, question in QUESTIONS.items():
            if question.split("{")[0] in turn.reply:
                asked_at[slot].append(index)
        info = conversation.collected_info
        for slot, value in (("project_type", info.project_type), ("features", info.features),
                            ("timeline", info.timeline), ("budget_range", info.budget_range),
                            ("name", info.name), ("contact", info.email or info.phone)):
            if value and slot not in filled_at:
                filled_at[slot] = index

    assert filled_at == {"project_type": 1, "features": 2, "timeline": 3, "budget_range": 3,
                         "name": 4, "contact": 5}
    # Each question asked exactly once, before its slot was filled; budget never (answered
    # together with the timeline).
    assert asked_at == {"project_type": [0], "features": [1], "timeline": [2],
                        "budget_range": [], "name": [3], "contact": [4]}
    for slot, turns in asked_at.items():
        assert all(turn < filled_at[slot] for turn in turns), slot
    assert conversation.asked == ["project_type", "features", "timeline", "name", "contact"]


def test_everything_in_one_message_goes_straight_to_the_summary(engine: LocalAssistant) -> None:
    conversation, turn = advance(engine, new_conversation(), (
        "My name is Ana Lopez, ana@lopez.dev. We need an online store with payments and "
        "inventory, launch by Q2, budget under 5k"))
    assert turn.step is DialogStep.SUMMARY
    assert turn.asked == []
    assert turn.reply == (
        "Nice to meet you, Ana. Noted: by Q2 and a budget of under $5,000. Thanks, I've got your "
        "contact details. Here's a summary of what we discussed: an online store with payment "
        "integration and inventory management; timeline: by Q2; budget: under $5,000. We'll "
        "reach you at ana@lopez.dev. Is there anything else you'd like to add?"
    )
    # Something new after the summary is taken in and summarised again; then it completes.
    conversation, turn = advance(engine, conversation, "Also push notifications please")
    assert turn.step is DialogStep.SUMMARY
    assert "push notifications" in turn.reply
    assert conversation.collected_info.features[-1] == "push notifications"
    conversation, turn = advance(engine, conversation, "looks right")
    assert turn.step is DialogStep.COMPLETED
    assert turn.reply.startswith("Thank you! Our team will review your requirements")


def test_a_free_text_answer_to_the_features_question_is_kept(engine: LocalAssistant) -> None:
    conversation = new_conversation()
    for text in ("hi", "We want a chatbot"):
        conversation, _ = advance(engine, conversation, text)
    conversation, turn = advance(engine, conversation, "it should qualify leads for our sales team")
    assert conversation.collected_info.features == ["it should qualify leads for our sales team"]
    assert turn.reply == "Great, I've noted those features. " + QUESTIONS["timeline"]


def test_a_slot_is_asked_at_most_twice(engine: LocalAssistant) -> None:
    conversation = new_conversation()
    for text in ("I need a website", "with a blog and search", "no idea about timing"):
        conversation, _ = advance(engine, conversation, text)
    asked_budget = 0
    for _ in range(6):  # the visitor never gives a timeline
        conversation, turn = advance(engine, conversation, "hmm")
        asked_budget += turn.reply.endswith(QUESTIONS["budget_range"])
    assert conversation.asked.count("timeline") == 2
    assert all(conversation.asked.count(slot) <= 2 for slot in QUESTIONS)
    assert asked_budget <= 2


def test_goodbye_before_contact_details_invites_the_visitor_back(engine: LocalAssistant) -> None:
    conversation, _ = advance(engine, new_conversation(), "I need a website")
    conversation, turn = advance(engine, conversation, "bye")
    assert turn.step is DialogStep.REQUIREMENT_GATHERING  # not completed: nothing to act on
    assert turn.reply == ("Thanks for stopping by! If you'd like us to follow up, just leave "
                          "your email any time. Goodbye!")


def test_a_bare_name_answers_the_name_question(engine: LocalAssistant) -> None:
    conversation = new_conversation()
    for text in ("I need a website with booking", "in 2 months, budget around 4k"):
        conversation, _ = advance(engine, conversation, text)
    assert conversation.asked[-1] == "name"
    conversation, _ = advance(engine, conversation, "Samantha Reyes")
    assert conversation.collected_info.name == "Samantha Reyes"


def test_a_non_answer_is_not_stored_as_features(engine: LocalAssistant) -> None:
    conversation = new_conversation()
    for text in ("hi", "We want a chatbot"):
        conversation, _ = advance(engine, conversation, text)
    conversation, _ = advance(engine, conversation, "ok")
    assert conversation.collected_info.features == []


# -- intent classifier ----------------------------------------------------------------------


def test_the_evaluation_set_is_held_out_and_covers_every_intent() -> None:
    examples = load_eval_set()
    assert len(examples) >= 60
    assert Counter(e.intent for e in examples).keys() == set(INTENTS)
    assert min(Counter(e.intent for e in examples).values()) >= 5
    training_texts = {e.text.lower().strip() for e in BUILTIN_EXAMPLES}
    assert [e.text for e in examples if e.text.lower().strip() in training_texts] == []


def test_builtin_classifier_accuracy_on_the_evaluation_set() -> None:
    examples = load_eval_set()
    classifier = IntentClassifier.train(BUILTIN_EXAMPLES)
    assert classifier.intents == sorted(INTENTS)
    total: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    misses = []
    for example in examples:
        predicted = classifier.predict(example.text)
        total[example.intent] += 1
        if predicted.intent == example.intent:
            hits[example.intent] += 1
        else:
            misses.append(f"  {example.intent:>12} -> {predicted.intent:<12} "
                          f"({predicted.confidence:.2f}) {example.text!r}")
    accuracy = classifier.accuracy(examples)
    print(f"\nintent accuracy on {EVAL_SET.name}: {accuracy:.3f} "
          f"({sum(hits.values())}/{len(examples)})")
    for intent in INTENTS:
        print(f"  {intent:<13} {hits[intent]}/{total[intent]} = {hits[intent] / total[intent]:.2f}")
    print("misclassified:\n" + "\n".join(misses))

    assert accuracy == sum(hits.values()) / len(examples)
    assert accuracy >= MIN_ACCURACY
    weakest = {i: hits[i] / total[i] for i in INTENTS if hits[i] / total[i] < MIN_PER_INTENT}
    assert weakest == {}


def test_the_engine_is_at_least_as_accurate_as_the_bare_classifier(
    engine: LocalAssistant,
) -> None:
    # The engine's entity override (informative smalltalk -> provide_info) must not hurt.
    examples = load_eval_set()
    engine_hits = sum(engine.analyze(e.text).intent == e.intent for e in examples)
    classifier_hits = sum(engine.classifier.predict(e.text).intent == e.intent for e in examples)
    print(f"\nengine intent accuracy: {engine_hits / len(examples):.3f}")
    assert engine_hits >= classifier_hits


def test_prediction_confidence_and_ranking() -> None:
    classifier = IntentClassifier.train(BUILTIN_EXAMPLES)
    prediction = classifier.predict("how much would a mobile app cost")
    assert prediction.intent == "pricing"
    assert prediction.ranking[0][0] == "pricing"
    probabilities = [p for _, p in prediction.ranking]
    assert probabilities == sorted(probabilities, reverse=True)
    assert sorted(intent for intent, _ in prediction.ranking) == sorted(INTENTS)
    assert sum(p for _, p in prediction.ranking) == pytest.approx(1.0)
    assert prediction.confidence == round(prediction.ranking[0][1], 4)
    # Nothing the model knows: "other", with no confidence.
    unknown = classifier.predict("xylophone quokka")
    assert (unknown.intent, unknown.confidence) == ("other", 0.0)


CUSTOM = {
    "order_status": ("where is my order", "has my package shipped yet", "track my order",
                     "when will my parcel arrive", "what's the status of order 1234",
                     "my delivery hasn't arrived", "is my order on its way",
                     "can you check my shipment"),
    "refund": ("i want my money back", "how do i get a refund", "refund my purchase please",
               "can i return this item", "i'd like to return the shoes",
               "please cancel and reimburse me", "return policy for damaged goods",
               "money back for a broken product"),
    "opening_hours": ("what time do you open", "when do you close today",
                      "are you open on sunday", "opening hours please",
                      "what are your hours on weekends", "is the shop open now",
                      "until what time are you open", "holiday opening times"),
}


def custom_examples() -> list[Example]:
    return [Example(text, intent) for intent, texts in CUSTOM.items() for text in texts]


@pytest.mark.parametrize(("text", "intent"), [
    ("could you track my parcel", "order_status"),
    ("has order 5521 shipped", "order_status"),
    ("i need a refund for a broken item", "refund"),
    ("can i return my purchase", "refund"),
    ("are you open on saturday", "opening_hours"),
    ("what time do you close", "opening_hours"),
])
def test_a_classifier_trained_on_a_custom_dataset_predicts_its_intents(
    text: str, intent: str,
) -> None:
    classifier = IntentClassifier.train(custom_examples())
    assert classifier.intents == ["opening_hours", "order_status", "refund"]
    assert classifier.predict(text).intent == intent


def test_a_custom_classifier_drives_the_engine() -> None:
    engine = LocalAssistant(IntentClassifier.train(custom_examples()))
    assert engine.analyze("where is my order?").intent == "order_status"
    # A message with no word the dataset knows but with details is taken as information;
    # the entities are extracted whatever the dataset.
    analysis = engine.analyze("ann@example.com")
    assert (analysis.intent, analysis.confidence) == ("provide_info", 0.6)
    assert [(e.type, e.value) for e in analysis.entities] == [("email", "ann@example.com")]


def test_training_needs_two_intents() -> None:
    with pytest.raises(ValueError, match="at least two intents"):
        IntentClassifier.train([Example("hi", "greet"), Example("hello", "greet")])


def test_split_examples_is_deterministic_and_stratified() -> None:
    train_a, test_a = split_examples(BUILTIN_EXAMPLES)
    train_b, test_b = split_examples(list(BUILTIN_EXAMPLES))
    assert (train_a, test_a) == (train_b, test_b)
    assert len(train_a) + len(test_a) == len(BUILTIN_EXAMPLES)
    assert set(train_a).isdisjoint(test_a)
    per_intent = Counter(e.intent for e in BUILTIN_EXAMPLES)
    held_out = Counter(e.intent for e in test_a)
    assert held_out == {intent: count // 5 for intent, count in per_intent.items()}
    # Every 5th example of each intent, in the original order.
    greets = [e.text for e in BUILTIN_EXAMPLES if e.intent == "greet"]
    assert [e.text for e in test_a if e.intent == "greet"] == greets[4::5]
    _, every_third = split_examples(BUILTIN_EXAMPLES, holdout_every=3)
    assert len(every_third) == sum(count // 3 for count in per_intent.values())


def test_held_out_accuracy_of_the_builtin_set() -> None:
    train, test = split_examples(BUILTIN_EXAMPLES)
    accuracy = IntentClassifier.train(train).accuracy(test)
    print(f"\nheld-out accuracy (every 5th built-in example): {accuracy:.3f} ({len(test)})")
    # Measured 0.485 (16/33): twelve examples per intent leave many held-out words unseen
    # ("farewell", "quote", "complaint"). Chance is 1/11; the floor is well above it.
    assert accuracy >= 0.4
    assert IntentClassifier.train(train).accuracy([]) == 0.0
