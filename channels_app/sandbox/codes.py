"""rippled's transaction result codes and RPC error tokens, as the sandbox uses them.

Numbers come from xrpl-py's binary-codec definitions (the same table rippled publishes);
human messages are rippled's `transResults` texts for the codes the sandbox returns.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

_MESSAGES = {
    "tesSUCCESS": "The transaction was applied. Only final in a validated ledger.",
    "tecNO_DST": "Destination does not exist. Send XRP to create it.",
    "tecNO_DST_INSUF_XRP": "Destination does not exist. Too little XRP sent to create it.",
    "tecNO_ALTERNATIVE_KEY": (
        "The operation would remove the ability to sign transactions with the account."
    ),
    "tecUNFUNDED": "Not enough XRP to satisfy the reserve requirement.",
    "tecUNFUNDED_PAYMENT": "Insufficient XRP balance to send.",
    "tecINSUFF_FEE": "Insufficient balance to pay fee.",
    "tecNO_TARGET": "Target account does not exist.",
    "tecNO_PERMISSION": "No permission to perform requested operation.",
    "tecNO_ENTRY": "No matching entry found.",
    "tecINSUFFICIENT_RESERVE": "Insufficient reserve to complete requested operation.",
    "tecNEED_MASTER_KEY": "The operation requires the use of the Master Key.",
    "tecDST_TAG_NEEDED": "A destination tag is required.",
    "tecEXPIRED": "Expiration time is passed.",
    "tecOWNERS": "Non-zero owner count.",
    "tefALREADY": "The exact transaction was already in this ledger.",
    "tefBAD_AUTH": "Transaction's public key is not authorized.",
    "tefBAD_QUORUM": "Signatures provided do not meet the quorum.",
    "tefBAD_SIGNATURE": "A signature is provided for a non-signer.",
    "tefINTERNAL": "Internal error.",
    "tefMASTER_DISABLED": "Master key is disabled.",
    "tefMAX_LEDGER": "Ledger sequence too high.",
    "tefNOT_MULTI_SIGNING": "Account has no appropriate list of multi-signers.",
    "tefPAST_SEQ": "This sequence number has already passed.",
    "tefWRONG_PRIOR": "This previous transaction does not match.",
    "telINSUF_FEE_P": "Fee insufficient.",
    "telBAD_PUBLIC_KEY": "Public key is not valid.",
    "telNETWORK_ID_MAKES_TX_NON_CANONICAL": (
        "Transactions submitted to this node/network must NOT include a NetworkID field."
    ),
    "telREQUIRES_NETWORK_ID": (
        "Transactions submitted to this node/network must include a correct NetworkID field."
    ),
    "telWRONG_NETWORK": "Transaction specifies a Network ID that differs from that of the local node.",
    "temMALFORMED": "Malformed transaction.",
    "temBAD_AMOUNT": "Malformed: Bad amount.",
    "temBAD_CURRENCY": "Malformed: Bad currency.",
    "temBAD_EXPIRATION": "Malformed: Bad expiration.",
    "temBAD_FEE": "Invalid fee, negative or not XRP.",
    "temBAD_QUORUM": "Malformed: Quorum is unreachable.",
    "temBAD_REGKEY": "Malformed: Regular key cannot be same as master key.",
    "temBAD_SEND_XRP_MAX": "Malformed: Send max is not allowed for XRP to XRP.",
    "temBAD_SEND_XRP_PARTIAL": "Malformed: Partial payment is not allowed for XRP to XRP.",
    "temBAD_SEND_XRP_PATHS": "Malformed: Paths are not allowed for XRP to XRP.",
    "temBAD_SEND_XRP_NO_DIRECT": "Malformed: No Ripple direct is not allowed for XRP to XRP.",
    "temBAD_SEND_XRP_LIMIT": "Malformed: Limit quality is not allowed for XRP to XRP.",
    "temBAD_SEQUENCE": "Malformed: Sequence is not in the past.",
    "temBAD_SIGNATURE": "Malformed: Bad signature.",
    "temBAD_SIGNER": "Malformed: No signer may duplicate account or other signers.",
    "temBAD_SRC_ACCOUNT": "Malformed: Bad source account.",
    "temBAD_WEIGHT": "Malformed: Weight must be a positive value.",
    "temDST_IS_SRC": "Destination may not be source.",
    "temDST_NEEDED": "Destination not specified.",
    "temINVALID": "The transaction is ill-formed.",
    "temINVALID_FLAG": "The transaction has an invalid flag.",
    "temREDUNDANT": "The transaction is redundant.",
    "temUNKNOWN": "The transaction requires logic that is not implemented yet.",
    "temDISABLED": "The transaction requires logic that is currently disabled.",
    "temSEQ_AND_TICKET": "Transaction contains a TicketSequence and a non-zero Sequence.",
    "terINSUF_FEE_B": "Account balance can't pay fee.",
    "terNO_ACCOUNT": "The source account does not exist.",
    "terPRE_SEQ": "Missing/inapplicable prior transaction.",
}


@cache
def _result_numbers() -> dict[str, int]:
    text = (
        resources.files("xrpl.core.binarycodec.definitions")
        .joinpath("definitions.json")
        .read_text()
    )
    return dict(json.loads(text)["TRANSACTION_RESULTS"])


def result_code(token: str) -> int:
    return _result_numbers()[token]


def result_message(token: str) -> str:
    return _MESSAGES.get(token, token)


def is_tes(token: str) -> bool:
    return token == "tesSUCCESS"


def is_tec(token: str) -> bool:
    return token.startswith("tec")


# rippled's RPC error table (ErrorCodes.cpp): token -> (code, default message).
RPC_ERRORS: dict[str, tuple[int, str]] = {
    "badSyntax": (1, "Syntax error."),
    "jsonInvalid": (2, "JSON is invalid."),
    "noPermission": (6, "You don't have permission for this command."),
    "notEnabled": (12, "Not enabled in configuration."),
    "noCurrent": (16, "Current ledger is unavailable."),
    "actNotFound": (19, "Account not found."),
    "lgrNotFound": (21, "ledgerNotFound"),
    "txnNotFound": (29, "Transaction not found."),
    "invalidParams": (31, "Invalid parameters."),
    "unknownCmd": (32, "Unknown method."),
    "actMalformed": (35, "Account malformed."),
    "channelMalformed": (45, "Payment channel is malformed."),
    "lgrIdxMalformed": (58, "Ledger index malformed."),
    "internal": (73, "Internal error."),
    "notSupported": (75, "Operation not supported."),
    "invalidTransaction": (-1, "Transaction is invalid."),
    "entryNotFound": (98, "Entry not found."),
    "unexpectedLedgerType": (99, "Unexpected ledger type."),
}
