"""The customer's trust question on their dashboard (reads governance only, so the
customer dashboard can include it without depending on the owner's reporting code)."""

from __future__ import annotations

from governance import selectors
from governance.forms import TrustSurveyForm


def trust_card(*, customer, form: TrustSurveyForm | None = None) -> dict[str, object]:
    """The customer's trust question: this quarter's answer and the form."""
    answer = selectors.trust_answer_current(customer=customer)
    if form is None:
        initial = {"score": answer.score, "comment": answer.comment} if answer else None
        form = TrustSurveyForm(initial=initial)
    return {"answer": answer, "form": form}
