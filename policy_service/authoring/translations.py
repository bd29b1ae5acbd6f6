"""Diagnostics and the CLI's own messages in Spanish as well as English (`--lang es|en`).

One source per message: the English text is written where the problem is found (the code reads as it
did), and this catalogue holds each message's English pattern, `{}` standing for what varies, beside
its Spanish, `{0}`, `{1}`… for the same parts in the order English gives them. `translate` matches a
finished English message against the patterns (the most specific first) and rebuilds it in Spanish,
translating each varying part too when it is itself a catalogued message (a hint inside a test
failure, a marshmallow message inside a shape error). Text no pattern matches is left in English:
tests/test_translations.py holds every message and hint the package emits to an entry here, and
every PS code to a Spanish title, so that never happens for a diagnostic.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache

LANGUAGES = ("es", "en")

# Every PS code's meaning in Spanish (the English is CODES in diagnostics.py, and docs/authoring.md).
CODES_ES: dict[str, str] = {
    "PS001": "el archivo no es YAML válido",
    "PS002": "falta apiVersion o kind, o no se reconoce",
    "PS003": "falta una clave obligatoria",
    "PS004": "una clave no forma parte del formato",
    "PS005": "un valor tiene un tipo o una forma incorrectos",
    "PS010": "debe haber exactamente una Organization",
    "PS011": "un id está definido dos veces",
    "PS012": "una acción la gobiernan dos políticas",
    "PS013": "nivel desconocido",
    "PS014": "acción desconocida",
    "PS015": "equipo desconocido",
    "PS016": "política desconocida",
    "PS017": "agente desconocido",
    "PS018": "tope desconocido",
    "PS019": "regla desconocida",
    "PS020": "campo desconocido",
    "PS021": "operador desconocido",
    "PS022": "el valor no encaja con el tipo del campo",
    "PS023": "el operador no se aplica al tipo del campo",
    "PS024": "el valor no es uno de los que admite el campo",
    "PS025": "una alternativa no es una acción de la misma política",
    "PS030": "marcador desconocido en las frases",
    "PS031": "faltan frases para un idioma",
    "PS040": "los límites bajan al subir de nivel",
    "PS041": "la regla nunca puede cumplirse",
    "PS042": "ninguna política gobierna esta acción",
    "PS050": "un caso de prueba del conjunto falla",
}

# English pattern -> Spanish.
MESSAGES_ES: dict[str, str] = {
    # -- reading files (PS001, PS002)
    "invalid YAML: {}": "YAML no válido: {0}",
    "the file cannot be read: {}": "no se puede leer el archivo: {0}",
    "the file is not valid UTF-8 (byte 0x{})": "el archivo no es UTF-8 válido (byte 0x{0})",
    "save the file as UTF-8": "guarde el archivo como UTF-8",
    "remove the character, or write it as an escape inside a double-quoted string":
        "quite el carácter, o escríbalo como secuencia de escape dentro de comillas dobles",
    "a key may appear only once in a mapping": "una clave solo puede aparecer una vez en un mapeo",
    'the key "{}" appears twice in one mapping': 'la clave "{0}" aparece dos veces en un mismo mapeo',
    "a tab in the indentation": "un tabulador en la sangría",
    "YAML indents with spaces, not tabs": "YAML sangra con espacios, no con tabuladores",
    "this line is not indented like the lines around it": "la sangría de esta línea no encaja con la de las líneas de alrededor",
    "check this line's indentation against the line above: keys of one mapping start in the same column":
        "compare la sangría de esta línea con la de la línea de arriba: las claves de un mismo mapeo empiezan en la misma columna",
    'a key ("name:") where only a value can be': 'una clave ("nombre:") donde solo puede ir un valor',
    'check this line\'s indentation against the line above, or put a text that holds ": " in quotes':
        'compare la sangría de esta línea con la de la línea de arriba, o ponga entre comillas un texto que contenga ": "',
    "a [ or { is not closed": "falta cerrar un [ o un {",
    "close it with ] or }, or write one item per line with -": "ciérrelo con ] o }, o escriba un elemento por línea con -",
    "a quote is not closed": "faltan las comillas de cierre",
    "end the text with the same quote it starts with": "termine el texto con las mismas comillas con que empieza",
    "a *_test.yaml file holds a PolicyTest, not {}": "un archivo *_test.yaml contiene un PolicyTest, no {0}",
    "a PolicyTest file must be named *_test.yaml": "un archivo PolicyTest debe llamarse *_test.yaml",
    "rename it to {}": "renómbrelo a {0}",
    "a policy file is a mapping starting with apiVersion and kind":
        "un archivo de políticas es un mapeo que empieza por apiVersion y kind",
    'start the file with "apiVersion: policy-service/v1" and a kind':
        'empiece el archivo con "apiVersion: policy-service/v1" y un kind',
    # -- shape (PS003, PS004, PS005) and marshmallow's own words inside them
    'missing required key "{}"': 'falta la clave obligatoria "{0}"',
    'unknown key "{}"': 'clave desconocida "{0}"',
    'unknown message "{}"': 'mensaje desconocido "{0}"',
    '"{}" belongs under then:, indented below it': '"{0}" va bajo then:, con más sangría que él',
    '"{}" belongs to the rule, beside then: (not under it)': '"{0}" es de la regla: va al lado de then: (no debajo)',
    '"{}" belongs to a rule, under rules: (- id: ..., when: ..., then: ...)':
        '"{0}" es de una regla: va bajo rules: (- id: ..., when: ..., then: ...)',
    '"{}" belongs under a rule\'s then:': '"{0}" va bajo el then: de una regla',
    "messages are written message first: messages: {cap_reached: {{}: ...}}":
        "los mensajes se escriben con el mensaje primero: messages: {cap_reached: {{0}: ...}}",
    'cap "{}" needs max_amount, max_count or both': 'el tope "{0}" necesita max_amount, max_count o ambos',
    "a cap's usage is {amount: ..., count: ...}": "el uso de un tope es {amount: ..., count: ...}",
    "usage is a mapping of cap id to {amount, count}": "usage es un mapeo de id de tope a {amount, count}",
    "{} is a built-in {} field; it cannot become {}": "{0} es un campo incorporado de tipo {1}; no puede pasar a ser {2}",
    '"{}" takes a list of conditions': '"{0}" lleva una lista de condiciones',
    "a condition is a mapping of field to test": "una condición es un mapeo de campo a prueba",
    'extra fields are named <object>.<name> with object one of {}; got "{}"':
        'los campos adicionales se llaman <objeto>.<nombre>, con objeto uno de {0}; se recibió "{1}"',
    "limits are a mapping of tier to limit": "los límites son un mapeo de nivel a límite",
    'unknown currency "{}"': 'moneda desconocida "{0}"',
    '"{}": {}': '"{0}": {1}',
    "not a valid string": "no es un texto válido",
    "not a valid integer": "no es un número entero válido",
    "not a valid number": "no es un número válido",
    "not a valid boolean": "no es un booleano válido",
    "not a valid list": "no es una lista válida",
    "not a valid mapping type": "no es un mapeo válido",
    "field may not be null": "el campo no puede ser nulo",
    "must be one of: {}": "debe ser uno de: {0}",
    "shorter than minimum length {}": "más corto que la longitud mínima {0}",
    "string does not match expected pattern": "el texto no tiene la forma esperada",
    "must be lower-case letters, digits and _, starting with a letter":
        "debe tener letras minúsculas, dígitos y _, empezando por una letra",
    'must be "{}"': 'debe ser "{0}"',
    "must be an ISO 4217 code such as EUR": "debe ser un código ISO 4217, como EUR",
    'must be a number of days or hours, such as "90d" or "24h"': 'debe ser un número de días u horas, como "90d" o "24h"',
    # -- the set (PS010, PS011, PS012)
    "a second Organization file": "un segundo archivo Organization",
    "no Organization file found": "no se encontró ningún archivo Organization",
    "add one file with kind: Organization": "añada un archivo con kind: Organization",
    "policy directory not found": "no se encontró el directorio de políticas",
    'agent "{}" is defined twice': 'el agente "{0}" está definido dos veces',
    'tier "{}" is defined twice': 'el nivel "{0}" está definido dos veces',
    'policy "{}" is defined twice': 'la política "{0}" está definida dos veces',
    'test case "{}" is defined twice': 'el caso de prueba "{0}" está definido dos veces',
    'cap "{}" is defined twice in policy {}': 'el tope "{0}" está definido dos veces en la política {1}',
    'rule "{}" is defined twice in policy {}': 'la regla "{0}" está definida dos veces en la política {1}',
    'action "{}" is already governed by policy {}': 'la acción "{0}" ya la gobierna la política {1}',
    "each action is governed by exactly one policy": "cada acción la gobierna exactamente una política",
    # -- references (PS013 to PS025)
    'unknown tier "{}"': 'nivel desconocido "{0}"',
    "tiers: {}": "niveles: {0}",
    'limits for "{}", which this policy does not govern': 'límites para "{0}", que esta política no gobierna',
    "add it to actions: or move these limits to the policy that governs {}":
        "añádala a actions: o lleve estos límites a la política que gobierna {0}",
    'unknown action "{}"': 'acción desconocida "{0}"',
    "actions: {}": "acciones: {0}",
    'unknown team "{}"': 'equipo desconocido "{0}"',
    "teams: {}": "equipos: {0}",
    "declare it under teams: in the Organization file": "declárelo bajo teams: en el archivo Organization",
    'unknown policy "{}"': 'política desconocida "{0}"',
    'unknown agent "{}": not in the agent directory': 'agente desconocido "{0}": no está en el directorio de agentes',
    'unknown cap "{}" in policy {}': 'tope desconocido "{0}" en la política {1}',
    'unknown cap "{}"': 'tope desconocido "{0}"',
    'a cap of another policy is written with its policy: "{}"': 'un tope de otra política se escribe con su política: "{0}"',
    "caps: {}": "topes: {0}",
    "no policy declares caps": "ninguna política declara topes",
    'unknown rule "{}"': 'regla desconocida "{0}"',
    'a rule of another policy is written with its policy: "{}"': 'una regla de otra política se escribe con su política: "{0}"',
    '"{}" is declared by the organisation: write it under {}.attributes':
        '"{0}" lo declara la organización: escríbalo bajo {1}.attributes',
    "{}: {attributes: {{}: ...}}": "{0}: {attributes: {{1}: ...}}",
    'unknown field "{}"': 'campo desconocido "{0}"',
    "fields here: {}": "campos aquí: {0}",
    'unknown operator "{}"': 'operador desconocido "{0}"',
    "a cap's actions must share one unit; got {}": "las acciones de un tope deben compartir unidad; se recibió {0}",
    "a flag limit is written as true": "un límite sí/no se escribe true",
    "leave the tier out to mean it may not grant it": "omita el nivel para decir que no puede concederla",
    "a scale is a positive number; got {}": "una escala es un número positivo; se recibió {0}",
    "cap_at_order_value applies to money actions; {} is in {}": "cap_at_order_value se aplica a acciones en dinero; {0} va en {1}",
    "exists takes true or false": "exists lleva true o false",
    "expected a non-negative number for a {} amount, got {}": "se esperaba un número no negativo para una cantidad en {0}; se recibió {1}",
    "{} takes a list of values": "{0} lleva una lista de valores",
    "{} is a string; got {}": "{0} es un texto; se recibió {1}",
    'quote it: "..."': 'póngalo entre comillas: "..."',
    "{} is a whole number; got {}": "{0} es un número entero; se recibió {1}",
    "{} is an amount of money; got {}": "{0} es una cantidad de dinero; se recibió {1}",
    "{} is true or false; got {}": "{0} es true o false; se recibió {1}",
    "YAML 1.2: only true and false are booleans": "YAML 1.2: solo true y false son booleanos",
    "{} are whole numbers, got {}": "{0} son números enteros; se recibió {1}",
    "{} has more decimals than {} allows ({})": "{0} tiene más decimales de los que admite {1} ({2})",
    '"{}" does not apply to {} ({})': '"{0}" no se aplica a {1} ({2})',
    "use one of: {}": "use uno de: {0}",
    '"{}" is not a value of {}': '"{0}" no es un valor de {1}',
    "values: {}": "valores: {0}",
    '"{}" is not an action of policy {}': '"{0}" no es una acción de la política {1}',
    "alternatives are actions of the same policy: {}": "las alternativas son acciones de la misma política: {0}",
    'did you mean "{}"?': '¿quiso decir "{0}"?',
    # -- words (PS030, PS031)
    "malformed placeholder: {}": "marcador mal formado: {0}",
    "write a literal brace as {{ or }}": "escriba una llave literal como {{ o }}",
    'unknown action "{}" in placeholder "{}"': 'acción desconocida "{0}" en el marcador "{1}"',
    'unknown placeholder "{}"': 'marcador desconocido "{0}"',
    "placeholders: {}": "marcadores: {0}",
    "locale \"{}\" is not one of the organisation's ({})": 'el idioma "{0}" no es uno de los de la organización ({1})',
    "texts may also be written under a declared locale's language (es for es-MX) or a region of it (es-MX for es)":
        "los textos también pueden escribirse bajo el idioma de un locale declarado (es para es-MX) o una región suya (es-MX para es)",
    'locale "{}" needs its standard sentences under messages: ({})': 'el idioma "{0}" necesita sus frases estándar bajo messages: ({1})',
    "the service ships them for es and en only": "el servicio solo las incluye para es y en",
    "no text for the default locale {}": "no hay texto para el idioma por defecto {0}",
    "requests in other locales fall back to it": "las solicitudes en otros idiomas recurren a él",
    # -- warnings (PS040 to PS042)
    "{} may grant less than {}, a lower tier": "{0} puede conceder menos que {1}, un nivel inferior",
    "limits usually rise with authority": "los límites suelen subir con la autoridad",
    'rule "{}" can never match: its tests contradict each other': 'la regla "{0}" nunca puede cumplirse: sus pruebas se contradicen',
    "check the numbers and values it compares": "revise los números y valores que compara",
    'no policy governs action "{}": nobody may grant it': 'ninguna política gobierna la acción "{0}": nadie puede concederla',
    # -- policy tests (PS050, `test`)
    'test case "{}" fails: {}': 'el caso de prueba "{0}" falla: {1}',
    "fix the policy or the case; a server started with --allow-failing-tests accepts it":
        "corrija la política o el caso; un servidor iniciado con --allow-failing-tests lo acepta",
    "outcome: expected {}, got {}": "outcome: se esperaba {0}, se obtuvo {1}",
    "to_tier: expected {}, got {}": "to_tier: se esperaba {0}, se obtuvo {1}",
    "handoff: expected {}, got {}": "handoff: se esperaba {0}, se obtuvo {1}",
    "options: expected one matching {}, got {}": "options: se esperaba una que coincida con {0}, se obtuvo {1}",
    "rules: expected {} to fire, fired {}": "rules: se esperaba que se disparase {0}; se dispararon {1}",
    "say_contains: no sentence contains {}; said {}": "say_contains: ninguna frase contiene {0}; se dijo {1}",
    "the request is invalid: {}": "la solicitud no es válida: {0}",
    "{}: {} ({})": "{0}: {1} ({2})",
    "must be a whole number": "debe ser un número entero",
    "must not be negative": "no debe ser negativo",
    "required for a {} action": "obligatorio para una acción en {0}",
    "a flag proposal carries no amount": "una propuesta sí/no no lleva cantidad",
    "zero is not a proposal": "cero no es una propuesta",
    # -- the CLI's own lines (validate, test)
    "{} error(s), {} warning(s)": "{0} error(es), {1} aviso(s)",
    "ok: {} policies, revision {}": "ok: {0} políticas, revisión {1}",
    "{} passed, {} failed": "{0} {0|correcto|correctos}, {1} {1|fallido|fallidos}",
    "expected": "esperado",
    "actual": "obtenido",
    "error": "error",
    "warning": "aviso",
    "hint": "pista",
    "PASS": "OK",
    "FAIL": "FALLA",
    # -- fields and replay
    "from the agent directory by agent.id (a trusted key may send agent.tier)":
        "del directorio de agentes por agent.id (una clave de confianza puede enviar agent.tier)",
    "from the agent directory by agent.id": "del directorio de agentes por agent.id",
    "candidate {}": "candidata {0}",
    "{} decisions replayed, {} would change{}": "{0} decisiones reproducidas, {1} {1|cambiaría|cambiarían}{2}",
    "{} decision replayed, {} would change{}": "{0} decisión reproducida, {1} {1|cambiaría|cambiarían}{2}",
    "{} could not be replayed (masked fields, or the candidate refuses the request): {}":
        "{0} no se {0|pudo|pudieron} reproducir (campos enmascarados, o la candidata rechaza la solicitud): {1}",
    "outcome transitions:": "cambios de resultado:",
    "money agents could grant without approval: {} → {} ({})": "dinero que los agentes podrían conceder sin aprobación: {0} → {1} ({2})",
    "rules whose firing changed most:": "reglas cuyo disparo más cambió:",
    "shadow mode recorded {} live disagreements for this candidate":
        "el modo sombra registró {0} {0|desacuerdo|desacuerdos} en vivo para esta candidata",
    "changed decisions (time UTC, agent, proposal, outcome, money grantable without approval):":
        "decisiones que cambiarían (hora UTC, agente, propuesta, resultado, dinero concedible sin aprobación):",
    "… and {} more (--format json lists all)": "… y {0} más (--format json las lista todas)",
}


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    """Most literal text first, so "unknown cap "{}" in policy {}" wins over "unknown cap "{}"" and
    every specific message over the generic "{}: {} ({})"."""
    compiled = []
    for english, spanish in MESSAGES_ES.items():
        literal = english.split("{}")
        regex = "(.+?)".join(re.escape(part) for part in literal)
        compiled.append((len("".join(literal)), re.compile(regex, re.S), spanish))
    compiled.sort(key=lambda item: -item[0])
    return [(pattern, spanish) for _, pattern, spanish in compiled]


def translate(text: str, lang: str) -> str:
    """`text` in `lang`; English, and anything the catalogue does not know, comes back unchanged."""
    if lang != "es" or not text:
        return text
    for pattern, spanish in _patterns():
        match = pattern.fullmatch(text)
        if match:
            # A part may be a list of messages ("outcome: …; to_tier: …"): each is translated.
            parts = ["; ".join(translate(piece, lang) for piece in part.split("; ")) for part in match.groups()]
            return _fill(spanish, parts)
    return text


def catalogued(text: str) -> bool:
    """Whether the catalogue has a pattern for `text` (tests: every emitted message has one)."""
    return any(pattern.fullmatch(text) for pattern, _ in _patterns())


def _fill(template: str, parts: list[str]) -> str:
    """`{0}` is the first part; `{0|correcto|correctos}` the singular when that part is 1, else the plural."""
    def plural(match: re.Match[str]) -> str:
        return match.group(2) if parts[int(match.group(1))] == "1" else match.group(3)
    template = re.sub(r"\{(\d)\|([^|{}]*)\|([^|{}]*)\}", plural, template)
    return re.sub(r"\{(\d)\}", lambda match: parts[int(match.group(1))], template)


def language(requested: str | None, locales: tuple[str, ...] | list[str] = (), environ: Mapping[str, str] = os.environ) -> str:
    """`--lang` if given; else the organisation's first locale's language; else $LANG's; else English."""
    for candidate in (requested, *(locales[:1]), environ.get("LC_ALL"), environ.get("LC_MESSAGES"), environ.get("LANG")):
        code = (candidate or "").split(".")[0].replace("_", "-").split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"
