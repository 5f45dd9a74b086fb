"""The questions the benchmarks ask: the eval datasets when they exist, otherwise a built-in clinician-style set.

Each case names the corpus documents a good answer should come from, so retrieval can be scored against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tutor.models import Turn

DATASETS = Path(__file__).resolve().parent.parent / "evals" / "datasets"


@dataclass(frozen=True)
class BenchCase:
    id: str
    question: str
    sources: tuple[tuple[str, ...], ...] = ()  # expected documents; an entry lists alternatives (any one will do)
    history: tuple[Turn, ...] = field(default=())


# Written as clinicians ask, not copied from the headings, so BM25 gets no free ride. One case or more per document.
BUILT_IN: list[tuple[str, str, tuple[str, ...]]] = [
    ("ab-1", "I tend to go along with what the decision support tool says. Is that automation bias?", ("automation-bias",)),
    ("ab-2", "Does being an experienced consultant protect me from over-trusting an AI suggestion?", ("automation-bias",)),
    ("ab-3", "If the AI explains its reasoning, will that stop people blindly accepting its output?", ("automation-bias",)),
    ("mammo", "What happened to radiologists' BI-RADS scores when the AI gave them a wrong category?",
     ("automation-bias-mammography",)),
    ("knee", "What did the knee MRI study find about hiding the AI result to reduce over-reliance?",
     ("ai-suppression-knee-mri",)),
    ("deskill", "Could endoscopists get worse at spotting adenomas after they get used to AI help?",
     ("deskilling-colonoscopy",)),
    ("conf-1", "What is the difference between trust and trustworthiness when we talk about AI?", ("appropriate-confidence",)),
    ("conf-2", "How confident should I be in an AI tool's output, and can confidence be too low?", ("appropriate-confidence",)),
    ("hee", "What did the two Health Education England reports on staff confidence in AI recommend?",
     ("hee-confidence-reports",)),
    ("arch-1", "I am a ward nurse using AI software that my trust bought. Which workforce archetype am I?",
     ("five-archetypes",)),
    ("arch-2", "What do Shapers and Drivers do in the HEE archetypes?", ("five-archetypes",)),
    ("capfw", "How many domains and capability statements are in the AI and digital healthcare capability framework?",
     ("capability-framework",)),
    ("topol", "What were the three principles of the Topol Review?", ("topol-review",)),
    ("sens", "Can you explain sensitivity and specificity with a worked example?", ("sensitivity-specificity",)),
    ("ppv-1", "Why does the positive predictive value drop when a test is used for screening a low-risk population?",
     ("predictive-values-prevalence",)),
    ("ppv-2", "A tool is 99% accurate. Why could half of its positive results still be wrong?",
     ("predictive-values-prevalence",)),
    ("auroc-1", "The vendor quotes an AUROC of 0.9. What does that actually tell me?", ("auroc",)),
    ("auroc-2", "Does a high area under the ROC curve mean the tool will work at our threshold?", ("auroc",)),
    ("calib", "The model says a patient has a 30% risk. Can I take that probability at face value?", ("calibration",)),
    ("overfit", "Why might an AI model that scored brilliantly in development fail on our patients?", ("overfitting",)),
    ("shift-1", "Why did a sepsis model stop working properly during COVID-19?", ("dataset-shift",)),
    ("shift-2", "What can change in a hospital that makes a prediction model drift?", ("dataset-shift",)),
    ("epic", "How well did the Epic sepsis model perform when Michigan validated it externally?",
     ("external-validation-epic-sepsis",)),
    ("derm", "Do dermatology AI models perform worse on darker skin tones?", ("bias-dermatology-images",)),
    ("oxim", "Why can pulse oximeters miss low oxygen levels in patients with darker skin?", ("bias-pulse-oximetry",)),
    ("equity", "What did the independent review of equity in medical devices recommend about AI-enabled devices?",
     ("equity-medical-devices-review",)),
    ("ethics-lab", "What is an algorithmic impact assessment and who piloted it in the NHS?", ("nhs-ai-lab-ethics",)),
    ("who-2021", "What are the six WHO principles for the ethics of AI in health?", ("who-ethics-principles",)),
    ("who-lmm", "What did the WHO say in 2024 about large multi-modal models in health care?", ("who-lmm-guidance",)),
    ("genai-1", "What is a large language model, in plain terms?", ("generative-ai-basics",)),
    ("genai-2", "What are the main risks of using generative AI in clinical work?", ("generative-ai-basics",)),
    ("chatbot-1", "Can I paste a patient's clinic letter into ChatGPT to get it summarised?",
     ("public-chatbots-patient-data",)),
    ("chatbot-2", "Is it safe to use a free public chatbot for work if I remove the patient's name?",
     ("public-chatbots-patient-data",)),
    ("gp-survey", "How many GPs in the UK say they use generative AI tools like ChatGPT?", ("gp-surveys-generative-ai",)),
    ("halluc", "How often do AI-generated clinical note summaries contain hallucinations or omissions?",
     ("llm-summarisation-safety",)),
    ("scribe-1", "Our practice wants an ambient scribe for consultations. What has to happen before it goes live?",
     ("ambient-scribes",)),
    ("scribe-2", "When does an AI scribe count as a medical device?", ("ambient-scribes",)),
    ("samd-1", "When does software become a medical device in the UK?", ("samd-qualification-classes",)),
    ("samd-2", "What are the risk classes for medical devices?", ("samd-qualification-classes",)),
    ("ukca", "What does a UKCA or CE mark on an AI product actually tell me?", ("ukca-ce-marking",)),
    ("airlock", "What is the MHRA AI Airlock sandbox, and does taking part mean a product is approved?", ("ai-airlock",)),
    ("mhra-cp", "What is the MHRA's Software and AI as a Medical Device Change Programme?", ("mhra-change-programme",)),
    ("commission", "Who chairs the National Commission on regulating AI in healthcare and what is it looking at?",
     ("national-commission-ai-regulation",)),
    ("pms", "What are the post-market surveillance rules for AI devices that started in June 2025?",
     ("post-market-surveillance",)),
    ("gmlp", "What are the ten principles of good machine learning practice?", ("gmlp-pccp-transparency",)),
    ("fda", "How many AI-enabled devices has the FDA authorised, and which specialty dominates?", ("fda-ai-devices",)),
    ("pccp", "What is a predetermined change control plan in the FDA guidance?", ("fda-ai-devices",)),
    ("euact-1", "What does Article 4 of the EU AI Act require on AI literacy?", ("eu-ai-act",)),
    ("euact-2", "When does a medical AI system count as high-risk under the EU AI Act?", ("eu-ai-act",)),
    ("adrs", "Where can I find joined-up guidance on regulations for AI and digital technology in the NHS?",
     ("ai-digital-regulations-service",)),
    ("yellow", "An AI tool gave a dangerous recommendation. How do I report it through the Yellow Card scheme?",
     ("reporting-incidents",)),
    ("report-wales", "Which reporting route should I use for an AI incident in Scotland or Wales?", ("reporting-incidents",)),
    ("dcb", "What are DCB0129 and DCB0160, and what does a Clinical Safety Officer do?", ("dcb0129-dcb0160",)),
    ("dtac", "What does DTAC check before the NHS buys a digital technology?", ("dtac",)),
    ("nice-esf", "What are the evidence tiers in the NICE evidence standards framework?", ("nice-evidence-standards",)),
    ("buyers", "What questions should we ask a supplier before buying an AI product?", ("buyers-guide",)),
    ("dspt", "Who has to complete the Data Security and Protection Toolkit, and when?", ("dspt",)),
    ("caldicott", "How do the Caldicott Principles apply when we use AI?", ("caldicott-principles",)),
    ("ig", "Do we need a DPIA before using AI decision support with patient data?", ("ig-guidance-ai",)),
    ("gdpr", "What does UK GDPR say about decisions made solely by automated means?", ("uk-gdpr-automated-decisions",)),
    ("gmc", "What does the GMC's Good medical practice 2024 say that matters for doctors using AI?",
     ("gmc-good-medical-practice",)),
    ("nmc", "Does the NMC have specific guidance for nurses using AI?", ("nmc-code-and-ai",)),
    ("rcr", "What is the Royal College of Radiologists' position on AI in radiology?", ("royal-college-of-radiologists",)),
    ("patients", "How should I explain to a patient that AI is being used in their care?", ("talking-to-patients-about-ai",)),
]


def built_in_cases() -> list[BenchCase]:
    return [BenchCase(id=i, question=q, sources=tuple((doc,) for doc in s)) for i, q, s in BUILT_IN]


def load_bench_cases(datasets: Path = DATASETS) -> tuple[list[BenchCase], str]:
    """The eval datasets' cases when there are any (with where they came from), else the built-in set."""
    files = sorted(datasets.glob("*.yaml")) if datasets.is_dir() else []
    if files:
        from tutor.evaluation.cases import load_cases

        cases = [BenchCase(id=c.id, question=c.question, sources=tuple(tuple(group) for group in c.expect.sources),
                           history=tuple(c.history)) for c in load_cases(files)]
        if cases:
            return cases, f"evals/datasets ({len(files)} files, {len(cases)} cases)"
    cases = built_in_cases()
    return cases, f"built-in list in benchmarks/cases.py ({len(cases)} clinician-style questions)"
