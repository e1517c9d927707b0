// SPDX-License-Identifier: Apache-2.0
// load_yaml: the position-carrying YAML tree under every manifest. Positions are 1-based
// and are what every later diagnostic points at, so they are checked node by node.

#include "engine/manifest/yaml_tree.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace hoist::engine {
namespace {

using kind = yaml_node::kind;

std::string listing(const diagnostics& problems) {
    std::string out;
    for (const auto& d : problems.items()) {
        out += to_string(d);
        out += '\n';
    }
    return out.empty() ? "(no diagnostics)\n" : out;
}

struct parsed {
    yaml_document document;
    diagnostics problems;
};

parsed parse(std::string_view text, const std::string& file = "doc.yaml") {
    parsed p;
    p.document = load_yaml(text, file, p.problems);
    return p;
}

/// The value under `key` of a mapping, or a failed test.
const yaml_node& at_key(const yaml_node& mapping, std::string_view key) {
    EXPECT_EQ(mapping.type, kind::mapping);
    for (std::size_t i = 0; i < mapping.mapping_size(); ++i) {
        if (mapping.key(i).text == key) {
            return mapping.value(i);
        }
    }
    ADD_FAILURE() << "no key " << key;
    static const yaml_node none;
    return none;
}

::testing::AssertionResult is_at(const yaml_node& node, std::uint32_t line, std::uint32_t column) {
    if (node.at.line == line && node.at.column == column) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "node '" << node.text << "' (" << describe(node) << ") is at " << node.at.line << ":"
           << node.at.column << ", expected " << line << ":" << column;
}

/// Exactly one problem, at `line`:`column` of doc.yaml, whose message holds `words`.
void expect_single_problem(const parsed& p, std::uint32_t line, std::uint32_t column,
                           std::string_view words) {
    EXPECT_FALSE(p.document.valid);
    EXPECT_FALSE(p.document.root.has_value());
    ASSERT_EQ(p.problems.size(), 1u) << listing(p.problems);
    const diagnostic& d = p.problems.items()[0];
    EXPECT_EQ(d.file, "doc.yaml");
    EXPECT_EQ(d.at.line, line) << to_string(d);
    EXPECT_EQ(d.at.column, column) << to_string(d);
    EXPECT_NE(d.message.find(words), std::string::npos) << to_string(d);
}

TEST(YamlTree, PositionsOfScalarsMappingsAndSequencesAreOneBased) {
    const auto p = parse(
        "name: foo\n"           // 1
        "list:\n"               // 2
        "  - a\n"               // 3
        "  - 'b'\n"             // 4
        "  - [c, d]\n"          // 5
        "map: {x: \"y\"}\n"     // 6
        "nested:\n"             // 7
        "    inner: value\n");  // 8
    ASSERT_TRUE(p.document.valid) << listing(p.problems);
    ASSERT_TRUE(p.document.root.has_value());
    const yaml_node& root = *p.document.root;
    EXPECT_EQ(root.type, kind::mapping);
    EXPECT_TRUE(is_at(root, 1, 1));
    ASSERT_EQ(root.mapping_size(), 4u);

    EXPECT_TRUE(is_at(root.key(0), 1, 1));
    EXPECT_EQ(root.key(0).text, "name");
    EXPECT_TRUE(is_at(root.value(0), 1, 7));
    EXPECT_EQ(root.value(0).text, "foo");

    const yaml_node& list = at_key(root, "list");
    EXPECT_EQ(list.type, kind::sequence);
    EXPECT_TRUE(is_at(list, 3, 3));  // the first '-'
    ASSERT_EQ(list.items.size(), 3u);
    EXPECT_TRUE(is_at(list.items[0], 3, 5));
    EXPECT_TRUE(is_at(list.items[1], 4, 5));  // the opening quote
    EXPECT_EQ(list.items[1].text, "b");
    const yaml_node& flow = list.items[2];
    EXPECT_EQ(flow.type, kind::sequence);
    EXPECT_TRUE(is_at(flow, 5, 5));  // '['
    ASSERT_EQ(flow.items.size(), 2u);
    EXPECT_TRUE(is_at(flow.items[0], 5, 6));
    EXPECT_TRUE(is_at(flow.items[1], 5, 9));

    const yaml_node& map = at_key(root, "map");
    EXPECT_EQ(map.type, kind::mapping);
    EXPECT_TRUE(is_at(map, 6, 6));  // '{'
    ASSERT_EQ(map.mapping_size(), 1u);
    EXPECT_TRUE(is_at(map.key(0), 6, 7));
    EXPECT_TRUE(is_at(map.value(0), 6, 10));
    EXPECT_EQ(map.value(0).text, "y");

    const yaml_node& nested = at_key(root, "nested");
    EXPECT_EQ(nested.type, kind::mapping);
    EXPECT_TRUE(is_at(nested, 8, 5));  // its first key
    EXPECT_TRUE(is_at(nested.value(0), 8, 12));
    EXPECT_TRUE(p.problems.empty()) << listing(p.problems);
}

TEST(YamlTree, QuotedAndPlainScalarsKeepTheirTextAndSayHowTheyWereWritten) {
    const auto p = parse(
        "plain: 1.0\n"
        "double: \"1.0\"\n"
        "single: 'yes'\n"
        "word: yes\n"
        "empty: \"\"\n"
        "escaped: \"a\\tb\"\n"
        "explicit: !!str 010\n");
    ASSERT_TRUE(p.document.valid) << listing(p.problems);
    const yaml_node& root = *p.document.root;

    const yaml_node& plain = at_key(root, "plain");
    EXPECT_EQ(plain.type, kind::scalar);
    EXPECT_FALSE(plain.quoted);
    EXPECT_EQ(plain.text, "1.0");  // no number conversion: "1.0" stays "1.0"
    EXPECT_EQ(describe(plain), "a plain scalar");

    const yaml_node& dq = at_key(root, "double");
    EXPECT_TRUE(dq.quoted);
    EXPECT_EQ(dq.text, "1.0");
    EXPECT_EQ(describe(dq), "a quoted string");

    EXPECT_TRUE(at_key(root, "single").quoted);
    EXPECT_EQ(at_key(root, "single").text, "yes");
    EXPECT_FALSE(at_key(root, "word").quoted);
    EXPECT_EQ(at_key(root, "word").text, "yes");

    const yaml_node& empty = at_key(root, "empty");
    EXPECT_EQ(empty.type, kind::scalar);  // "" is a string, not null
    EXPECT_TRUE(empty.quoted);
    EXPECT_EQ(empty.text, "");

    EXPECT_EQ(at_key(root, "escaped").text, "a\tb");

    // An explicit !!str is a string whatever it looks like, like a quoted one.
    const yaml_node& str = at_key(root, "explicit");
    EXPECT_EQ(str.type, kind::scalar);
    EXPECT_TRUE(str.quoted);
    EXPECT_EQ(str.text, "010");
}

TEST(YamlTree, NullFormsAreNullButQuotedNullIsAString) {
    const auto p = parse(
        "empty:\n"
        "tilde: ~\n"
        "word: null\n"
        "title: Null\n"
        "upper: NULL\n"
        "quoted: \"null\"\n"
        "single: '~'\n"
        "tagged: !!str null\n"
        "last:\n");
    ASSERT_TRUE(p.document.valid) << listing(p.problems);
    const yaml_node& root = *p.document.root;
    for (const char* key : {"empty", "tilde", "word", "title", "upper", "last"}) {
        const yaml_node& value = at_key(root, key);
        EXPECT_EQ(value.type, kind::null) << key;
        EXPECT_EQ(value.text, "") << key;
        EXPECT_EQ(describe(value), "nothing (null)") << key;
    }
    EXPECT_TRUE(is_at(at_key(root, "tilde"), 2, 8));
    EXPECT_TRUE(is_at(at_key(root, "word"), 3, 7));
    for (const char* key : {"quoted", "single", "tagged"}) {
        const yaml_node& value = at_key(root, key);
        EXPECT_EQ(value.type, kind::scalar) << key;
        EXPECT_TRUE(value.quoted) << key;
    }
    EXPECT_EQ(at_key(root, "quoted").text, "null");
    EXPECT_EQ(at_key(root, "single").text, "~");
    EXPECT_EQ(at_key(root, "tagged").text, "null");
}

TEST(YamlTree, DocumentThatIsOnlyNullHasANullRoot) {
    const auto p = parse("~\n");
    ASSERT_TRUE(p.document.valid) << listing(p.problems);
    ASSERT_TRUE(p.document.root.has_value());
    EXPECT_EQ(p.document.root->type, kind::null);
}

// yaml-cpp gives an empty value (`key:` with nothing after it) the position of the next
// token, which can be several lines further down; the tree moves it back to the line
// where it was written, so that a diagnostic about it points there.
TEST(YamlTree, EmptyValueIsPositionedWhereItIsWritten) {
    const auto p = parse(
        "list:\n"       // 1
        "- \n"          // 2: an empty entry
        "\n"            // 3
        "- second\n");  // 4
    ASSERT_TRUE(p.document.valid) << listing(p.problems);
    const yaml_node& list = at_key(*p.document.root, "list");
    ASSERT_EQ(list.items.size(), 2u);
    EXPECT_EQ(list.items[0].type, kind::null);
    EXPECT_EQ(list.items[0].at.line, 2u);
}

TEST(YamlTree, DuplicateKeyIsReportedAtTheSecondWithTheLineOfTheFirst) {
    const auto p = parse(
        "top: 1\n"    // 1
        "inner:\n"    // 2
        "  c: 1\n"    // 3
        "  d: 2\n"    // 4
        "  c: 3\n");  // 5
    expect_single_problem(p, 5, 3, "duplicate key \"c\" (first at line 3)");
}

TEST(YamlTree, QuotedAndPlainSpellingsOfOneKeyAreDuplicates) {
    const auto p = parse("images: []\n\"images\": []\n");
    expect_single_problem(p, 2, 1, "duplicate key \"images\" (first at line 1)");
}

TEST(YamlTree, EveryDuplicateIsReported) {
    const auto p = parse(
        "a: 1\n"
        "b: {x: 1, x: 2}\n"
        "a: 2\n");
    EXPECT_FALSE(p.document.valid);
    ASSERT_EQ(p.problems.size(), 2u) << listing(p.problems);
    // Inner mappings end first, so the nested duplicate is reported first.
    EXPECT_EQ(p.problems.items()[0].at.line, 2u);
    EXPECT_EQ(p.problems.items()[0].at.column, 11u);
    EXPECT_NE(p.problems.items()[0].message.find("\"x\" (first at line 2)"), std::string::npos);
    EXPECT_EQ(p.problems.items()[1].at.line, 3u);
    EXPECT_EQ(p.problems.items()[1].at.column, 1u);
    EXPECT_NE(p.problems.items()[1].message.find("\"a\" (first at line 1)"), std::string::npos);
}

TEST(YamlTree, SameKeyInDifferentMappingsIsFine) {
    const auto p = parse("- {name: a, dmap: {}}\n- {name: b, dmap: {}}\n");
    EXPECT_TRUE(p.document.valid) << listing(p.problems);
    EXPECT_TRUE(p.problems.empty());
}

TEST(YamlTree, SequenceAsAKeyIsRefused) {
    const auto p = parse("? [a, b]\n: value\n");
    expect_single_problem(p, 1, 3, "a mapping key must be a plain string, found a sequence");
}

TEST(YamlTree, MappingAsAKeyIsRefused) {
    const auto p = parse("{a: 1}: value\n");
    expect_single_problem(p, 1, 1, "a mapping key must be a plain string, found a mapping");
}

TEST(YamlTree, NullKeyIsRefused) {
    const auto p = parse("ok: 1\n~: value\n");
    expect_single_problem(p, 2, 1, "a mapping key must be a plain string, found nothing (null)");
}

TEST(YamlTree, SyntaxErrorHasAPosition) {
    expect_single_problem(parse("a: b: c\n"), 1, 5, "YAML syntax error");
    expect_single_problem(parse("first: ok\nsecond: [1, 2\n"), 3, 1, "YAML syntax error");
    expect_single_problem(parse("a: 1\n\t- b\n"), 2, 1, "illegal tab");
}

TEST(YamlTree, AliasToUnknownAnchorIsAnError) {
    expect_single_problem(parse("a: 1\nb: *nowhere\n"), 2, 4, "anchor");
}

TEST(YamlTree, TwoDocumentsAreRefused) {
    const auto p = parse("a: 1\n---\nb: 2\n");
    EXPECT_FALSE(p.document.valid);
    EXPECT_FALSE(p.document.root.has_value());
    ASSERT_EQ(p.problems.size(), 1u) << listing(p.problems);
    EXPECT_EQ(p.problems.items()[0].file, "doc.yaml");
    EXPECT_EQ(p.problems.items()[0].at.line, 0u);  // about the whole file
    EXPECT_NE(p.problems.items()[0].message.find("several YAML documents"), std::string::npos);

    // A trailing empty document counts too.
    const auto trailing = parse("a: 1\n---\n");
    EXPECT_FALSE(trailing.document.valid);
    EXPECT_EQ(trailing.problems.size(), 1u) << listing(trailing.problems);
}

TEST(YamlTree, OneDocumentWithExplicitMarkersIsAccepted) {
    const auto p = parse("---\na: 1\n...\n");
    ASSERT_TRUE(p.document.valid) << listing(p.problems);
    ASSERT_TRUE(p.document.root.has_value());
    EXPECT_TRUE(is_at(at_key(*p.document.root, "a"), 2, 4));
}

TEST(YamlTree, EmptyAndCommentOnlyInputIsAValidDocumentWithoutRoot) {
    for (std::string_view text :
         {"", "\n\n", "   \n", "# only a comment\n", "# one\n\n# two\n", "# no final newline"}) {
        const auto p = parse(text);
        EXPECT_TRUE(p.document.valid) << "input: \"" << text << "\"";
        EXPECT_FALSE(p.document.root.has_value()) << "input: \"" << text << "\"";
        EXPECT_TRUE(p.problems.empty()) << listing(p.problems);
    }
}

TEST(YamlTree, CrlfLineEndingsCountLinesOnce) {
    const auto p = parse(
        "# comment\r\n"    // 1
        "a: one\r\n"       // 2
        "b:\r\n"           // 3
        "  - \"x\"\r\n"    // 4
        "\r\n"             // 5
        "c: [y, z]\r\n");  // 6
    ASSERT_TRUE(p.document.valid) << listing(p.problems);
    const yaml_node& root = *p.document.root;
    EXPECT_TRUE(is_at(root, 2, 1));
    EXPECT_TRUE(is_at(at_key(root, "a"), 2, 4));
    EXPECT_EQ(at_key(root, "a").text, "one");  // no stray '\r'
    const yaml_node& b = at_key(root, "b");
    EXPECT_TRUE(is_at(b, 4, 3));
    ASSERT_EQ(b.items.size(), 1u);
    EXPECT_TRUE(is_at(b.items[0], 4, 5));
    EXPECT_EQ(b.items[0].text, "x");
    const yaml_node& c = at_key(root, "c");
    EXPECT_TRUE(is_at(c, 6, 4));
    ASSERT_EQ(c.items.size(), 2u);
    EXPECT_EQ(c.items[1].text, "z");
    EXPECT_TRUE(is_at(c.items[1], 6, 8));
}

TEST(YamlTree, CrlfDuplicateKeyReportsTheRightLines) {
    const auto p = parse("a: 1\r\nb: 2\r\n\r\na: 3\r\n");
    expect_single_problem(p, 4, 1, "first at line 1");
}

TEST(YamlTree, AliasesExpandToCopiesOfTheAnchoredNode) {
    const auto p = parse(
        "base: &b {name: x, tags: [1, 2]}\n"  // 1
        "copy: *b\n"                          // 2
        "word: &w hello\n"                    // 3
        "again: *w\n");                       // 4
    ASSERT_TRUE(p.document.valid) << listing(p.problems);
    const yaml_node& root = *p.document.root;
    const yaml_node& copy = at_key(root, "copy");
    EXPECT_EQ(copy.type, kind::mapping);
    EXPECT_TRUE(is_at(copy, 2, 7));  // the alias itself sits where it is written
    ASSERT_EQ(copy.mapping_size(), 2u);
    EXPECT_EQ(copy.key(0).text, "name");
    EXPECT_EQ(copy.value(0).text, "x");
    ASSERT_EQ(copy.value(1).items.size(), 2u);
    EXPECT_EQ(copy.value(1).items[1].text, "2");
    // ... and its content keeps the anchored node's positions.
    EXPECT_TRUE(is_at(copy.value(0), 1, 17));

    const yaml_node& again = at_key(root, "again");
    EXPECT_EQ(again.type, kind::scalar);
    EXPECT_EQ(again.text, "hello");
    EXPECT_TRUE(is_at(again, 4, 8));
}

TEST(YamlTree, RedefinedAnchorRefersToTheLatestDefinition) {
    const auto p = parse("a: &x 1\nb: &x 2\nc: *x\n");
    ASSERT_TRUE(p.document.valid) << listing(p.problems);
    EXPECT_EQ(at_key(*p.document.root, "c").text, "2");
}

/// "Billion laughs": ten levels, each ten aliases of the one before; fully expanded it
/// would be about 10^10 nodes.
std::string alias_bomb(int levels, int fan_out, int extra_aliases_at_top) {
    std::string text = "l0: &l0 [";
    for (int i = 0; i < fan_out; ++i) {
        text += i == 0 ? "\"lol\"" : ", \"lol\"";
    }
    text += "]\n";
    for (int level = 1; level < levels; ++level) {
        std::string name = "l" + std::to_string(level);
        std::string previous = "*l" + std::to_string(level - 1);
        text += name + ": &" + name + " [";
        for (int i = 0; i < fan_out; ++i) {
            text += i == 0 ? previous : ", " + previous;
        }
        text += "]\n";
    }
    if (extra_aliases_at_top > 0) {
        std::string last = "*l" + std::to_string(levels - 1);
        text += "more: [";
        for (int i = 0; i < extra_aliases_at_top; ++i) {
            text += i == 0 ? last : ", " + last;
        }
        text += "]\n";
    }
    return text;
}

TEST(YamlTree, AliasBombIsRefusedInsteadOfExpanded) {
    // Aliases of l1..l4 expand to 123,440 nodes; each alias of l4 inside l5 (line 6) adds
    // 111,111, so the eighth (column 45) passes the limit of 1,000,000.
    const auto p = parse(alias_bomb(10, 10, 0));
    EXPECT_FALSE(p.document.valid);
    EXPECT_FALSE(p.document.root.has_value());
    ASSERT_FALSE(p.problems.empty());
    const diagnostic& first = p.problems.items()[0];
    EXPECT_EQ(first.file, "doc.yaml");
    EXPECT_EQ(first.at.line, 6u) << to_string(first);
    EXPECT_EQ(first.at.column, 45u) << to_string(first);
    EXPECT_NE(first.message.find("aliases expand to more than"), std::string::npos)
        << to_string(first);
    for (const auto& d : p.problems.items()) {
        EXPECT_NE(d.message.find("aliases expand"), std::string::npos) << to_string(d);
    }
}

// Once the limit is passed, further aliases are neither expanded nor counted again, and
// not reported again: a small hostile file costs one diagnostic and little time.
TEST(YamlTree, AliasBombIsReportedOnceAndStopsEarly) {
    const auto p = parse(alias_bomb(7, 10, 300));
    EXPECT_FALSE(p.document.valid);
    EXPECT_EQ(p.problems.size(), 1u);
}

TEST(YamlTree, DeepNestingIsRefusedWithoutCrashing) {
    std::string text = "a: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
    const auto p = parse(text);
    EXPECT_FALSE(p.document.valid);
    EXPECT_FALSE(p.document.root.has_value());
    ASSERT_EQ(p.problems.size(), 1u) << listing(p.problems);
    EXPECT_EQ(p.problems.items()[0].at.line, 1u);
    EXPECT_NE(p.problems.items()[0].message.find("YAML syntax error"), std::string::npos);
}

TEST(YamlTree, FileNameIsCarriedIntoDiagnostics) {
    const auto p = parse("a: [\n", "some/dir/images.yaml");
    ASSERT_EQ(p.problems.size(), 1u);
    EXPECT_EQ(p.problems.items()[0].file, "some/dir/images.yaml");
    EXPECT_EQ(
        to_string(p.problems.items()[0]).rfind("some/dir/images.yaml:2:1: YAML syntax error", 0),
        0u)
        << to_string(p.problems.items()[0]);
}

TEST(Diagnostics, ToStringAndSortOrder) {
    diagnostics d;
    d.add("b.yaml", {3, 1}, "third");
    d.add("a.yaml", {10, 2}, "second");
    d.add("a.yaml", {}, "first");
    d.add("a.yaml", {10, 1}, "between");
    d.add("b.yaml", {3, 1}, "fourth, same place as third");
    d.sort();
    ASSERT_EQ(d.size(), 5u);
    EXPECT_EQ(to_string(d.items()[0]), "a.yaml: first");
    EXPECT_EQ(to_string(d.items()[1]), "a.yaml:10:1: between");
    EXPECT_EQ(to_string(d.items()[2]), "a.yaml:10:2: second");
    EXPECT_EQ(to_string(d.items()[3]), "b.yaml:3:1: third");
    EXPECT_EQ(to_string(d.items()[4]), "b.yaml:3:1: fourth, same place as third");  // stable

    diagnostics more;
    more.add("c.yaml", {1, 1}, "appended");
    d.append(std::move(more));
    EXPECT_EQ(d.size(), 6u);
    EXPECT_EQ(d.items().back().message, "appended");
}

}  // namespace
}  // namespace hoist::engine
