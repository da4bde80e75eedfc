"""The built-in training set for conversational intents (seed 003's intents and more)."""

from __future__ import annotations

from leadgraph.domain.assistant.classifier import Example

_RAW: dict[str, tuple[str, ...]] = {
    "greet": (
        "hi", "hello", "hey there", "good morning", "good afternoon", "hello, how are you",
        "hi there", "hey", "greetings", "hello team", "hi, anyone there?", "good evening",
        "howdy", "hiya", "hello bot",
    ),
    "goodbye": (
        "bye", "goodbye", "see you later", "thanks, bye", "talk to you later", "that's all, bye",
        "have a nice day", "catch you later", "i have to go now", "bye bye", "ok bye",
        "see you soon", "good night", "thanks that's all for now", "farewell",
    ),
    "question": (
        "what services do you offer", "how does it work", "can you explain the process",
        "do you build ios apps", "what technologies do you use", "who are you",
        "how long does a project usually take", "do you offer maintenance",
        "can you integrate with our crm", "where are you located", "what is your process",
        "do you have a portfolio", "how do i get started", "what do you do",
        "can you help me with something", "is it possible to add features later",
    ),
    "pricing": (
        "how much does it cost", "what are your prices", "what is the price of an app",
        "how much would a website cost", "pricing please", "can i get a quote",
        "what are your rates", "is it expensive", "how much do you charge",
        "send me a price estimate", "what does a chatbot cost", "do you have pricing plans",
        "cost estimate for an ecommerce site", "what's the hourly rate", "quote for a mobile app",
    ),
    "demo_request": (
        "can i see a demo", "i would like a demo", "schedule a demo", "book a demo please",
        "show me how it works", "can we set up a call", "i want to schedule a meeting",
        "can we talk on a call", "let's book a call", "request a demo", "arrange a demo",
        "can someone call me", "i'd like to talk to sales", "set up a meeting with your team",
        "demo please",
    ),
    "purchase": (
        "i want to buy", "i'm ready to start", "let's do it", "sign me up",
        "i want to purchase the plan", "we are ready to move forward", "let's get started",
        "i want to hire you", "we want to start the project now", "where do i sign",
        "i'd like to order", "we've decided to go with you", "send me the contract",
        "ready to buy", "i want to proceed",
    ),
    "complaint": (
        "this is terrible", "i'm not happy with the service", "your app is broken",
        "i want a refund", "this doesn't work", "very disappointed", "worst experience ever",
        "nobody answered my email", "the site keeps crashing", "i have a complaint",
        "you overcharged me", "this is unacceptable", "the delivery was late",
        "it stopped working", "i'm frustrated with the support",
    ),
    "feedback": (
        "great job", "i love it", "thanks, that was helpful", "awesome work",
        "you guys are great", "the app looks amazing", "nice service", "i have a suggestion",
        "it would be nice if you added dark mode", "good experience overall", "well done",
        "this is really useful", "i like the new design", "some feedback for you",
        "excellent support",
    ),
    "provide_info": (
        "i need a mobile app for my business", "we want an ecommerce website",
        "my email is john@example.com", "our budget is around 20k", "we need it in 3 months",
        "my name is sarah", "it should have payments and user login", "i'm from acme corp",
        "we need a chatbot for customer support", "the timeline is next quarter",
        "you can reach me at 555 123 4567", "we are looking for a web app with a dashboard",
        "budget between 10k and 20k", "features: booking, notifications and chat",
        "we want an ai solution to analyze documents", "i'm looking for a website redesign",
        "it needs push notifications and maps", "we would like to launch by q2",
    ),
    "smalltalk": (
        "how are you", "what's up", "are you a robot", "tell me a joke", "nice weather today",
        "what's your name", "are you human", "how's your day", "do you like music",
        "you're funny", "lol", "haha", "what time is it", "who made you", "are you real",
    ),
    "other": (
        "asdf", "banana", "the cat sat on the mat", "purple elephant", "ok", "hmm",
        "whatever", "random text here", "qwerty", "nothing", "blah blah",
        "i don't know", "test", "123", "?",
    ),
}

BUILTIN_EXAMPLES: tuple[Example, ...] = tuple(
    Example(text=text, intent=intent) for intent, texts in _RAW.items() for text in texts
)
