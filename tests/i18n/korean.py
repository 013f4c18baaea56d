"""What a Korean instructor would object to in a Korean text, as rules a test can apply.

- a bracketed particle (`은(는)`, `이(가)`, `(으)로`): the writer did not choose;
- a particle whose form depends on the word before it, right after a parameter: correct for one value
  and wrong for the next (`{name}이` reads "결제이"). Judged on the rendered text with sample values,
  so the failure shows the sentence a student would read;
- an English sentence inside the Korean text, outside `code`, parameters, URLs and slash commands;
- a term the course does not use (라벨, 경보, 파드, 디플로이먼트, …) or a kind in lower case;
- a sentence ending that is not the instructor's 합니다/하세요 (해라체 `있다.`, 해요체 `돼요`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping

#: Particles whose form depends on the final consonant of the word before: (after a consonant, after a
#: vowel). 으로/로 is special: after ㄹ it is 로 as after a vowel.
PARTICLE_PAIRS: tuple[tuple[str, str], ...] = (
    ("은", "는"),
    ("이", "가"),
    ("을", "를"),
    ("과", "와"),
    ("으로", "로"),
    ("이나", "나"),
    ("이라", "라"),
    ("이랑", "랑"),
    ("아", "야"),
)
_VARIABLE = sorted({p for pair in PARTICLE_PAIRS for p in pair}, key=len, reverse=True)
#: A variable particle at the start of the text that follows a parameter: the particle alone, not the first
#: syllable of a longer word (`{name}이전` is not a particle; `{name}으로` is).
_PARTICLE_AT_START = re.compile(rf"^(?:{'|'.join(_VARIABLE)})(?![가-힣])|^(?:으로|이며|이고|이지만|이므로)")
BRACKETED = re.compile(r"[가-힣]?\((?:은|는|이|가|을|를|와|과|으|이나|이라)\)[가-힣]?")

#: How a digit is read at the end of a number: 1 일, 2 이, 3 삼 … (0 ends 십, 백, 천, 만, 영: a consonant).
_DIGIT_FINAL = {"0": "ㅇ", "1": "ㄹ", "2": "", "3": "ㅁ", "4": "", "5": "", "6": "ㄱ", "7": "ㄹ", "8": "ㄹ", "9": ""}
_FINALS = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"


def final_consonant(word: str) -> str | None:
    """The 받침 of the word's last syllable as read aloud ("" for none), None when the reading is not known
    from the text (a Latin word: "pod", "api" are read 팟, 에이피아이 — not guessable)."""
    last = word.rstrip()[-1:]
    if "가" <= last <= "힣":
        return _FINALS[(ord(last) - 0xAC00) % 28].strip()
    if last in _DIGIT_FINAL:
        return _DIGIT_FINAL[last]
    return None


def particle_fits(word: str, particle: str) -> bool:
    """Whether `particle` is the right form after `word`. Unknown readings never fit: rephrase instead."""
    final = final_consonant(word)
    if final is None:
        return False
    for after_consonant, after_vowel in PARTICLE_PAIRS:
        if particle in (after_consonant, after_vowel):
            if after_consonant == "으로":
                return particle == ("로" if final in ("", "ㄹ") else "으로")
            return particle == (after_consonant if final else after_vowel)
    return True


#: Sample values for every parameter: consonant, vowel and ㄹ finals, Latin names, numbers read 일/이/삼.
SAMPLES: tuple[str, ...] = ("주문", "결제", "서울", "frontend", "api", "1", "2", "3")

TERMS: Mapping[str, str] = {
    "라벨": "레이블",
    "경보": "알림",
    "얼럿": "알림",
    "파드": "Pod",
    "디플로이먼트": "Deployment",
    "디플로이": "Deployment",
    "헬스 체크": "헬스체크",
    "스케쥴링": "스케줄링",
    "네임 스페이스": "네임스페이스",
    "롤 백": "롤백",
    "쿠버네티스": "Kubernetes",
}
#: Kinds are written as Kubernetes writes them: `deployment web` in Korean text should be `Deployment web`.
LOWERCASE_KIND = re.compile(
    r"(?<![\w/.-])(deployments?|services?|pods?|configmaps?|secrets?|persistentvolumeclaims?|pvcs?|hpas?|nodes?"
    r"|statefulsets?|namespaces?|ingress(?:es)?|servicemonitors?|storageclass(?:es)?)(?![\w/.-])"
)

_CODE = re.compile(r"```.*?```|`[^`]*`", re.DOTALL)
_URL = re.compile(r"https?://\S+")
_SLASH_COMMAND = re.compile(r"(?<!\S)/[a-z]+(?: [a-z_-]+)?")
_ASCII_WORD = r"[A-Za-z][A-Za-z0-9'_.-]*"
_ASCII_RUN = re.compile(rf"{_ASCII_WORD}(?:,? +{_ASCII_WORD}){{2,}}")
_LOWER_WORD = re.compile(r"[a-z]+")
#: 해라체 (`없다.`) and 해요체 (`돼요`) endings; the instructor writes 합니다/하세요.
_PLAIN_ENDING = re.compile(r"[가-힣]*(?<!니)다(?=[.!?)]|\s*$)")
_HAEYO_ENDING = re.compile(r"[가-힣]*(?:해|돼|어|아|워|져|네|에)요(?![가-힣])")


def _prose(text: str) -> str:
    """The text a reader reads as sentences: without code, URLs and slash commands."""
    for pattern in (_CODE, _URL, _SLASH_COMMAND):
        text = pattern.sub(" ◇ ", text)
    return text


def english_sentences(text: str) -> list[str]:
    """Runs of three or more ASCII words, two of them plain lower-case words: a sentence, not a name
    (`GitHub Repository URL`, `Recreate`, `maxUnavailable 100%` are names)."""
    return [
        run
        for run in (m.group() for m in _ASCII_RUN.finditer(_prose(text)))
        if sum(bool(_LOWER_WORD.fullmatch(word.strip(",.'"))) for word in run.split()) >= 2
    ]


def wrong_terms(text: str) -> list[str]:
    prose = _prose(text)
    found = [f"{term} (write {right})" for term, right in TERMS.items() if term in prose]
    found += [f"{m.group()} (write the kind as Kubernetes does)" for m in LOWERCASE_KIND.finditer(prose)]
    return found


def wrong_tone(text: str) -> list[str]:
    prose = _prose(text)
    return [m.group() for m in (*_PLAIN_ENDING.finditer(prose), *_HAEYO_ENDING.finditer(prose)) if m.group()]


def bracketed_particles(text: str) -> list[str]:
    return [m.group() for m in BRACKETED.finditer(text)]


def _pieces(template: str) -> Iterator[tuple[str, str | None]]:
    for literal, name, _, _ in string.Formatter().parse(template):
        yield literal, name


def particles_after_parameters(template: str) -> list[str]:
    """Renderings with a sample value where the particle after a parameter does not fit the value."""
    pieces = list(_pieces(template))
    wrong = []
    for index, (_, name) in enumerate(pieces):
        if name is None or index + 1 >= len(pieces):
            continue
        following = pieces[index + 1][0]
        particle = _PARTICLE_AT_START.match(following)
        if particle is None:
            continue
        wrong += [f"{sample}{following[:12]}" for sample in SAMPLES if not particle_fits(sample, particle.group())]
    return wrong


def problems(text: str, *, template: str | None = None) -> list[str]:
    """Everything in `text` (and, given its template, in how parameters meet particles) an instructor would
    correct."""
    found = [f"bracketed particle {p!r}" for p in bracketed_particles(text)]
    found += [f"English sentence {s!r}" for s in english_sentences(text)]
    found += [f"term {w}" for w in wrong_terms(text)]
    found += [f"not 합니다/하세요 {w!r}" for w in wrong_tone(text)]
    if template is not None:
        found += [f"particle after a parameter reads {r!r}" for r in particles_after_parameters(template)]
    return found
