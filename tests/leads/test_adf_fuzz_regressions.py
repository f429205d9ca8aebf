"""Inputs the fuzzer (fuzz/adf_fuzz.py) found breaking the ADF reader's contract, minimised: each
must give submissions or AdfRejected, never another exception."""

import pytest

from leads.adf import adf_from_email, parse_adf

ADF = (
    b"<adf><prospect><customer><contact><name>Ann Lee</name></contact></customer></prospect></adf>"
)


def test_a_mime_charset_holding_a_nul_byte_gives_way_to_the_document_itself():
    # Found as: From: lds@p / Content-Type:e\x04\x00...; charset=u\x00\x00\x00\x00\x00scii.
    # codecs.lookup() refuses such a name with a bare ValueError, not a LookupError.
    raw = b'Subject: Lead\nContent-Type: text/plain; charset="us\x00ascii"\n\n' + ADF + b"\n"

    [submission] = parse_adf(adf_from_email(raw))

    assert (submission.first_name, submission.last_name) == ("Ann", "Lee")


@pytest.mark.parametrize("marked_section", ["<![Cp>", "<![ x]>"])
def test_comments_with_a_marked_section_html_parser_refuses_keep_the_prospect(marked_section):
    # Found as <Comments><![CDATA[<\xe9 <![Cp>]]></Comments>: html.parser raises AssertionError
    # for "<![" without a keyword it knows, which cost the whole prospect its fields.
    comments = f"<![CDATA[Call me {marked_section} after 5]]>"
    data = ADF.replace(b"</customer>", f"<comments>{comments}</comments></customer>".encode())

    [submission] = parse_adf(data)

    assert (submission.first_name, submission.last_name) == ("Ann", "Lee")
    assert submission.comments.startswith("Call me")
    assert submission.comments.endswith("after 5")
    assert submission.warnings == ("comments hold malformed HTML; tags were removed roughly",)
