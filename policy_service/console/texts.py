"""The console's own words, in Spanish and English (docs/contract.md §9: Spanish first, English too).

One catalogue, keyed by what a text is for (common words and the approvals here, auditors' pages in
texts_log.py, policy owners' in texts_owners.py, the Insights page's in texts_insights.py); every key has both languages (tests/console/test_console_texts.py).
Sentences for customers stay in deciding/words.py; these are the words of the pages around them.
Placeholders are `str.format` fields, filled by `text()`.
"""

from __future__ import annotations

from typing import Any

from policy_service.console.texts_insights import INSIGHT_TEXTS
from policy_service.console.texts_log import LOG_TEXTS
from policy_service.console.texts_owners import OWNER_TEXTS

LANGUAGES = ("es", "en")

_COMMON: dict[str, dict[str, str]] = {
    "console": {"es": "Consola de políticas", "en": "Policy console"},
    "skip_to_content": {"es": "Saltar al contenido", "en": "Skip to content"},
    "main_navigation": {"es": "Navegación principal", "en": "Main navigation"},
    "language": {"es": "Idioma", "en": "Language"},
    "home": {"es": "Inicio", "en": "Home"},
    "signed_in_as": {"es": "Ha entrado como {name}", "en": "Signed in as {name}"},
    "acting_as": {"es": "actúa como {agent}", "en": "acting as {agent}"},
    "dev_mode": {"es": "Modo de desarrollo: sin claves, con todos los roles.",
                 "en": "Development mode: no keys, every role."},
    "sign_in": {"es": "Entrar", "en": "Sign in"},
    "sign_in_title": {"es": "Entrar en la consola", "en": "Sign in to the console"},
    "sign_in_hint": {"es": "Use la clave de API que le dio la persona que administra el servicio.",
                     "en": "Use the API key the person who runs the service gave you."},
    "api_key": {"es": "Clave de API", "en": "API key"},
    "sign_out": {"es": "Salir", "en": "Sign out"},
    "signed_out": {"es": "Ha salido de la consola.", "en": "You have signed out."},
    "there_is_a_problem": {"es": "Hay un problema", "en": "There is a problem"},
    "wrong_key": {"es": "La clave de API no es válida.", "en": "The API key is not valid."},
    "key_required": {"es": "Escriba su clave de API.", "en": "Enter your API key."},
    "session_expired": {"es": "Su sesión ha caducado; vuelva a entrar.", "en": "Your session has expired; sign in again."},
    "roles": {"es": "Roles", "en": "Roles"},
    "role_agent_tool": {"es": "herramienta de agente", "en": "agent tool"},
    "role_approver": {"es": "aprobación", "en": "approver"},
    "role_auditor": {"es": "auditoría", "en": "auditor"},
    "role_policy_admin": {"es": "administración de políticas", "en": "policy admin"},
    "welcome": {"es": "Le damos la bienvenida", "en": "Welcome"},
    "your_pages": {"es": "Sus páginas", "en": "Your pages"},
    "no_pages": {"es": "Su clave no tiene páginas en la consola todavía.",
                 "en": "Your key has no console pages yet."},
    "forbidden_title": {"es": "No tiene acceso a esta página", "en": "You cannot see this page"},
    "forbidden_body": {"es": "Su clave no tiene el rol que pide esta página.",
                       "en": "Your key does not have the role this page needs."},
    "not_found_title": {"es": "No existe esta página", "en": "Page not found"},
    "not_found_body": {"es": "Revise la dirección o vuelva al inicio.", "en": "Check the address or go back home."},
    "csrf_title": {"es": "No se pudo enviar el formulario", "en": "The form could not be sent"},
    "csrf_body": {"es": "El formulario había caducado o le faltaba su código de seguridad. Vuelva a cargar la "
                        "página e inténtelo de nuevo.",
                  "en": "The form had expired or was missing its security code. Reload the page and try again."},
    "error_title": {"es": "Algo ha fallado", "en": "Something went wrong"},
    "unavailable_title": {"es": "El registro de decisiones no responde", "en": "The decision log is not answering"},
    "unavailable_body": {"es": "No se ha guardado nada. Inténtelo de nuevo en unos segundos.",
                         "en": "Nothing was recorded. Try again in a few seconds."},
    "back_home": {"es": "Volver al inicio", "en": "Back home"},
    "flag_yes": {"es": "sí", "en": "yes"},
    # Approvals inbox
    "approvals": {"es": "Aprobaciones", "en": "Approvals"},
    "approvals_pending": {"es": "Pendientes", "en": "Pending"},
    "approvals_approved": {"es": "Aprobadas", "en": "Approved"},
    "approvals_rejected": {"es": "Rechazadas", "en": "Rejected"},
    "approvals_views": {"es": "Vistas de aprobaciones", "en": "Approval views"},
    "approvals_none": {"es": "No hay escalados pendientes que pueda decidir.",
                       "en": "There are no pending escalations you can decide."},
    "history_none": {"es": "No hay nada en este historial.", "en": "Nothing in this history."},
    "approvals_count": {"es": "Pendientes: {count}, la más antigua primero.", "en": "Pending: {count}, oldest first."},
    "refreshes": {"es": "La lista se actualiza sola cada {seconds} segundos.",
                  "en": "The list refreshes itself every {seconds} seconds."},
    "refresh_now": {"es": "Actualizar ahora", "en": "Refresh now"},
    "overdue": {"es": "Vencida", "en": "Overdue"},
    "waiting": {"es": "Espera desde hace {age}", "en": "Waiting for {age}"},
    "decision": {"es": "Decisión", "en": "Decision"},
    "agent": {"es": "Agente", "en": "Agent"},
    "customer": {"es": "Cliente", "en": "Customer"},
    "action": {"es": "Acción", "en": "Action"},
    "amount": {"es": "Importe", "en": "Amount"},
    "proposed": {"es": "Propuesto", "en": "Proposed"},
    "agent_limit": {"es": "Límite del agente", "en": "Agent's limit"},
    "needs_tier": {"es": "Necesita el nivel", "en": "Needs tier"},
    "why_escalated": {"es": "Por qué se escaló", "en": "Why it was escalated"},
    "options_given": {"es": "Opciones que se ofrecieron", "en": "Options the agent was given"},
    "up_to": {"es": "hasta {amount}", "en": "up to {amount}"},
    "words_said": {"es": "Lo que se le dijo", "en": "What was said"},
    "above_limit": {"es": "{amount} supera el límite del agente ({limit}).", "en": "{amount} is above the agent's limit ({limit})."},
    "cap_reached": {"es": "Tope alcanzado: {cap}.", "en": "Cap reached: {cap}."},
    "cap_binding": {"es": "tope alcanzado", "en": "cap reached"},
    "cap_left": {"es": "quedan {amount}", "en": "{amount} left"},
    "cap_left_count": {"es": "{count} usos más", "en": "{count} more uses"},
    "cap_usage": {"es": "Topes", "en": "Caps"},
    "raised_at": {"es": "Escalada el", "en": "Escalated at"},
    "approver": {"es": "Quién aprueba", "en": "Approver"},
    "approver_bound": {"es": "Aprueba como {agent}.", "en": "You approve as {agent}."},
    "approve": {"es": "Aprobar", "en": "Approve"},
    "approve_amount": {"es": "Importe a aprobar", "en": "Amount to approve"},
    "approve_amount_hint": {"es": "Déjelo así para aprobar el importe completo, o escriba uno menor.",
                            "en": "Leave it to approve the full amount, or enter a smaller one."},
    "reject": {"es": "Rechazar", "en": "Reject"},
    "reason": {"es": "Motivo del rechazo", "en": "Reason for rejecting"},
    "reason_required": {"es": "Escriba el motivo del rechazo.", "en": "Enter the reason for rejecting."},
    "approver_required": {"es": "Elija quién aprueba.", "en": "Choose the approver."},
    "approved_message": {"es": "Aprobada la decisión {id}: {action} para {customer}, {amount}.",
                         "en": "Decision {id} approved: {action} for {customer}, {amount}."},
    "approved_flag_message": {"es": "Aprobada la decisión {id}: {action} para {customer}.",
                              "en": "Decision {id} approved: {action} for {customer}."},
    "rejected_message": {"es": "Rechazada la decisión {id}: {action} para {customer}.",
                         "en": "Decision {id} rejected: {action} for {customer}."},
    "amount_unreadable": {"es": "«{typed}» no se lee como un importe: escriba el importe como {example}, con "
                                "los decimales y, si quiere, los separadores de miles de este idioma.",
                          "en": "\u201c{typed}\u201d does not read as an amount: write the amount as {example}, with a "
                                "decimal point and, if you like, commas for thousands."},
    # decide_approval's refusals (approvals.REFUSALS), in the page's words
    "refusal_amount_not_lower": {"es": "Solo puede aprobar un importe menor que el propuesto ({proposed}), no mayor ni cero.",
                                 "en": "You may approve less than the proposed amount ({proposed}), not more, and not zero."},
    "refusal_amount_format": {"es": "El importe debe ser un número, como 120,00.",
                              "en": "The amount must be a number, such as 120.00."},
    "refusal_tier": {"es": "{approver} tiene el nivel {tier}; este escalado necesita {needed} o superior.",
                     "en": "{approver} is {tier}; this escalation needs {needed} or above."},
    "refusal_own_limit": {"es": "El límite y los topes de {approver} cubren aquí {limit} de {action}, no {amount}.",
                          "en": "{approver}'s own limit and caps cover {limit} of {action} here, not {amount}."},
    "refusal_unknown_approver": {"es": "{approver} no está en el directorio de agentes.",
                                 "en": "{approver} is not in the agent directory."},
    "refusal_not_escalated": {"es": "la decisión fue {outcome}, no escalada: no espera aprobación.",
                              "en": "the decision was {outcome}, not escalated: nothing awaits approval."},
    "refusal_outcome_recorded": {"es": "ya hay un resultado registrado para esta decisión: no espera aprobación.",
                                 "en": "an outcome is already recorded for this decision: nothing awaits approval."},
    "refusal_masked": {"es": "la petición se guardó con campos enmascarados y no se puede volver a decidir.",
                       "en": "the request was stored with masked fields and cannot be decided again."},
    "refusal_required": {"es": "Falta este dato.", "en": "This is required."},
    "refusal_not_found": {"es": "no está en el registro.", "en": "it is not in the log."},
    "already_decided": {"es": "La decisión {id} ya estaba {verdict} por {approver}: no ha cambiado nada.",
                        "en": "Decision {id} was already {verdict} by {approver}: nothing has changed."},
    "conflict_message": {"es": "No se pudo decidir {id}: {reason}", "en": "Could not decide {id}: {reason}"},
    "invalid_message": {"es": "Revise el formulario de {id}: {reason}", "en": "Check the form for {id}: {reason}"},
    "decided_by": {"es": "Decidida por", "en": "Decided by"},
    "decided_at": {"es": "Decidida el", "en": "Decided at"},
    "approved_amount": {"es": "Importe aprobado", "en": "Approved amount"},
    "status": {"es": "Estado", "en": "Status"},
    "status_approved": {"es": "aprobada", "en": "approved"},
    "status_rejected": {"es": "rechazada", "en": "rejected"},
    "note": {"es": "Nota", "en": "Note"},
    "not_in_directory": {"es": "no está en el directorio", "en": "not in the directory"},
}

# One catalogue for the templates, kept in three files by the pages they serve; a key defined twice
# would silently take one of its texts.
_PARTS = (_COMMON, LOG_TEXTS, OWNER_TEXTS, INSIGHT_TEXTS)
if len({key for part in _PARTS for key in part}) != sum(len(part) for part in _PARTS):
    raise RuntimeError("a console text key is defined twice across the texts*.py files")
TEXTS: dict[str, dict[str, str]] = {key: value for part in _PARTS for key, value in part.items()}


def text(key: str, language: str, **values: Any) -> str:
    """The text for `key` in `language` (else Spanish), its placeholders filled."""
    texts = TEXTS[key]
    template = texts.get(language) or texts["es"]
    return template.format(**values) if values else template
