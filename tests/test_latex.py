"""LaTeX as Unicode (aggregator._update.latex): maths spaced as it reads, TeX accents in
names, titles and abstracts, and plain text left alone. The cases are written the way
arXiv's feeds carry them."""

from __future__ import annotations

import pytest

from aggregator._update.latex import looks_like_latex, to_unicode


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Operator names keep a space before their argument.
        (r"Regret of order $\ln \ln T$ for bandits", "Regret of order ln ln T for bandits"),
        (r"$\ln\ln T$", "ln ln T"),
        (r"an $O(\log \log n)$ approximation", "an O(log log n) approximation"),
        (r"$\sin\theta$ and $\cos\phi$", "sin θ and cos ϕ"),
        (r"$\sin^2\theta + \cos^2\theta = 1$", "sin² θ + cos² θ = 1"),
        (r"$\log^2 n$ rounds", "log² n rounds"),
        (r"$\exp(-t)$ decay", "exp(-t) decay"),
        (r"$\ln(1+x)$", "ln(1+x)"),
        (r"$\max_{x} f(x)$", "maxₓ f(x)"),
        (r"$\min_x \max_y L$", "minₓ max_y L"),
        (r"$\det A \neq 0$", "det A ≠ 0"),
        (r"$\arg\max_x f$", "arg maxₓ f"),
        (r"$\sup_{t} |X_t|$", "supₜ |Xₜ|"),
        (r"$\operatorname{Tr}(A)$ and $\operatorname{rank} A$", "Tr(A) and rank A"),
        (r"$\Pr[X \geq t]$", "Pr[X ≥ t]"),
        # Relations, binary operators and arrows are spaced between their operands.
        (r"as $n \to \infty$", "as n → ∞"),
        (r"$n\to\infty$", "n → ∞"),
        (r"$f: X \rightarrow Y$", "f: X → Y"),
        (r"$A\Rightarrow B$", "A ⇒ B"),
        (r"$a\leq b$", "a ≤ b"),
        (r"$x \in \mathbb{R}^d$", "x ∈ ℝ^d"),
        (r"$3\times 3$ grids", "3 × 3 grids"),
        (r"$a\cdot b$", "a · b"),
        (r"$P \neq NP$", "P ≠ NP"),
        (r"$\{0,1\}^n \to \mathbb{R}$", "{0,1}ⁿ → ℝ"),
        (r"$\|x\|_2 \leq 1$", "‖x‖₂ ≤ 1"),
        (r"$\mathbb{E}[X] \le \frac{1}{2}$", "𝔼[X] ≤ 1/2"),
        (r"$p \iff q$", "p ⟺ q"),
        (r"$a \lesssim b$", "a ≲ b"),
        (r"$\mathrm{KL}(p \| q)$", "KL(p ‖ q)"),
        # ... but not inside a script, next to a bracket or at an end of the maths.
        (r"$\lim_{n\to\infty} a_n$", "lim_(n→∞) aₙ"),
        (r"$f(\cdot)$", "f(·)"),
        (r"$\|\cdot\|$", "‖·‖"),
        (r"a $2\times$ speed-up", "a 2× speed-up"),
        (r"$\sim$10% fewer", "∼10% fewer"),
        (r"$\pm 0.5$", "±0.5"),
        (r"$\leq$-bounded", "≤-bounded"),
        # What already read well still does.
        (r"$\alpha$-divergence", "α-divergence"),
        (r"$O(n \log n)$", "O(n log n)"),
        (r"$\tilde{O}(\sqrt{T})$ regret", "Õ(√(T)) regret"),
        (r"$\sum_{i=1}^n x_i$", "∑ᵢ₌₁ⁿ xᵢ"),
        (r"$x^{2}$ and $x_{i,j}$", "x² and x_(i,j)"),
        (r"$(1-\epsilon)$-approximation", "(1-ϵ)-approximation"),
        (r"$k$-NN", "k-NN"),
    ],
)
def test_maths_reads_with_its_spaces(text: str, expected: str) -> None:
    assert to_unicode(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"Fran\c{c}ois Lef\`evre", "François Lefèvre"),
        (r"J\"urgen M\"uller", "Jürgen Müller"),
        (r"Jos\'e Mar\'ia Garc\'ia", "José María García"),
        (r"M{\"u}ller", "Müller"),
        (r"Bj\"{o}rn Sch\"olkopf", "Björn Schölkopf"),
        (r"\'{E}douard Gr\'egoire", "Édouard Grégoire"),
        (r"Garc\'{\i}a L\'{o}pez", "García López"),
        (r"Mar\'\i a", "María"),
        (r"S{\o}ren Hauberg", "Søren Hauberg"),
        (r"S\o ren", "Søren"),
        (r"{\O}ksendal", "Øksendal"),
        (r"Stra\ss e", "Straße"),
        (r"Gau\ss{}", "Gauß"),
        (r"\v{S}ime\v{c}ek", "Šimeček"),
        (r"Dvo\v{r}\'ak", "Dvořák"),
        (r"Ji\v{r}\'{\i}", "Jiří"),
        (r"Micha{\l} Nowak", "Michał Nowak"),
        (r"Pawe\l{} Kowalski", "Paweł Kowalski"),
        (r"Fran{\c c}ois", "François"),
        (r"Erd\H{o}s", "Erdős"),
        (r"Nguy\~{\^e}n", "Nguyễn"),
        (r"N\'u\~nez Jo\~ao", "Núñez João"),
        (r"\AA{}str\"om", "Åström"),
        (r"Yal\c{c}{\i}n \"Ozt\"urk", "Yalçın Öztürk"),
        (r"{\"O}zt{\"u}rk", "Öztürk"),
        (r"Schr\"odinger bridges with $\psi$-potentials", "Schrödinger bridges with ψ-potentials"),
        (r"Q\&A over 50\% of \emph{all} tables", "Q&A over 50% of all tables"),
    ],
)
def test_tex_accents_and_escapes_become_unicode(text: str, expected: str) -> None:
    assert to_unicode(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "costs $5",
        "saves 50%",
        "a lone $ sign",
        "between $5 and $10 million",
        "J. Doe and A. Smith",
        "O'Brien",
        "Anne-Marie d'Arc",
        "Müller, already Unicode",
        "x<y and y>z",
    ],
)
def test_plain_text_is_left_alone(text: str) -> None:
    assert not looks_like_latex(text) or to_unicode(text) == text
    assert to_unicode(text) == text


def test_code_in_backticks_is_left_as_written() -> None:
    text = r"set `$HOME/\alpha` for $\alpha$-tuning, see `\sin\theta`"
    assert to_unicode(text) == r"set `$HOME/\alpha` for α-tuning, see `\sin\theta`"


def test_money_among_maths_stays_money() -> None:
    assert to_unicode(r"$\epsilon$-greedy costs $5 per run") == "ϵ-greedy costs $5 per run"
    assert to_unicode(r"from $5 to $10 with $\alpha$") == "from $5 to $10 with α"
    # A number in maths is maths, not money.
    assert to_unicode(r"$1 - \epsilon$ and $5$-colourable") == "1 - ϵ and 5-colourable"


def test_what_pylatexenc_cannot_read_is_kept() -> None:
    # An unclosed group: kept as written rather than lost.
    assert "GHz" in to_unicode(r"\textbf{5 GHz")


def test_private_marks_in_the_input_do_not_leak_spaces() -> None:
    assert to_unicode("$a\ue001\\to b$") == "a → b"
