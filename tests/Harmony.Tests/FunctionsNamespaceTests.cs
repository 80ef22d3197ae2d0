using System.Text.Json;
using Harmony.Conversations;
using Harmony.Rendering;

namespace Harmony.Tests;

/// <summary>The JSON Schema to TypeScript mapping of docs/harmony.md §3.2, one rule per test.</summary>
public sealed class FunctionsNamespaceTests
{
    [Fact]
    public void Type_mapping_covers_every_rule()
    {
        string rendered = RenderTool("""
            {
              "type": "object",
              "properties": {
                "s": { "type": "string" },
                "n": { "type": "number" },
                "i": { "type": "integer" },
                "b": { "type": "boolean" },
                "list": { "type": "array", "items": { "type": "string" } },
                "anything": { "type": "array" },
                "either": { "type": ["integer", "string"] },
                "maybe": { "type": "string", "nullable": true },
                "unknown": { "type": "null" },
                "untyped": { }
              },
              "required": ["s", "n", "i", "b", "list", "anything", "either", "maybe", "unknown", "untyped"]
            }
            """);

        Assert.Equal(
            "type f = (_: {\ns: string,\nn: number,\ni: number,\nb: boolean,\nlist: string[],\nanything: Array<any>,\n"
            + "either: number | string,\nmaybe: string | null,\nunknown: any,\nuntyped: any,\n}) => any;",
            rendered);
    }

    [Fact]
    public void Comments_defaults_and_optional_markers()
    {
        string rendered = RenderTool("""
            {
              "description": "params object",
              "type": "object",
              "properties": {
                "name": { "type": "string", "title": "NAME", "description": "Who.", "examples": ["Ada", 7, "Grace"] },
                "unit": { "type": "string", "enum": ["c", "f"], "default": "c" },
                "label": { "type": "string", "default": "none" },
                "count": { "type": "integer", "default": 3 },
                "tags": { "type": "array", "items": { "type": "string" }, "default": ["a", "b"] }
              },
              "required": ["name"]
            }
            """);

        Assert.Equal(
            "type f = (_: // params object\n{\n// NAME\n//\n// Who.\n// Examples:\n// - \"Ada\"\n// - \"Grace\"\nname: string,\n"
            + "unit?: \"c\" | \"f\", // default: c\nlabel?: string, // default: \"none\"\ncount?: number, // default: 3\n"
            + "tags?: string[], // default: [\"a\",\"b\"]\n}) => any;",
            rendered);
    }

    [Fact]
    public void Nested_objects_are_indented_four_spaces_per_level()
    {
        string rendered = RenderTool("""
            { "type": "object", "properties": { "outer": { "type": "object", "properties": { "inner": { "type": "string", "description": "Deep." } }, "required": ["inner"] } } }
            """);

        Assert.Equal("type f = (_: {\nouter?: {\n    // Deep.\n    inner: string,\n    },\n}) => any;", rendered);
    }

    [Fact]
    public void OneOf_property_lists_variants_with_their_comments()
    {
        string rendered = RenderTool("""
            {
              "type": "object",
              "properties": {
                "v": {
                  "description": "a value",
                  "default": 20,
                  "oneOf": [
                    { "type": "string", "default": "x" },
                    { "type": "number", "description": "numbers too" },
                    { "type": "string", "nullable": true }
                  ]
                }
              }
            }
            """);

        Assert.Equal("type f = (_: {\n// a value\n// default: 20\nv?:\n | string // default: \"x\"\n | number // numbers too\n | string | null\n,\n}) => any;", rendered);
    }

    [Fact]
    public void A_multi_line_description_stays_a_comment()
    {
        string rendered = RenderTool("""{ "type": "object", "properties": { "p": { "type": "string", "description": "one\ntwo" } } }""");

        Assert.Contains("// one\n// two\np?: string,", rendered, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "type": "object" }""")]
    [InlineData("""{ "type": "object", "properties": {} }""")]
    [InlineData(null)]
    public void A_tool_without_properties_takes_no_parameters(string? schema)
    {
        Assert.Equal("type f = () => any;", RenderTool(schema));
    }

    [Theory]
    [InlineData("read_file", "read_file")]
    [InlineData("read-file.v2 now", "read_file_v2_now")]
    [InlineData("weird!@#name", "weirdname")]
    [InlineData("9lives", "_9lives")]
    [InlineData("!!!", "_")]
    [InlineData("résumé", "résumé")]
    public void Names_become_identifiers(string name, string expected)
    {
        Assert.Equal(expected, HarmonyToolNames.Sanitize(name));
    }

    [Fact]
    public void Names_that_sanitize_alike_stay_distinct()
    {
        string[] names = HarmonyToolNames.Assign([new("a-b", ""), new("a.b", ""), new("a b", ""), new("c", "")]);

        Assert.Equal(["a_b", "a_b_2", "a_b_3", "c"], names);
    }

    [Fact]
    public void Description_lines_each_become_a_comment()
    {
        string rendered = FunctionsNamespace.Render([new HarmonyFunctionTool("f", "First line.\nSecond line.")]);

        Assert.Equal("## functions\n\nnamespace functions {\n\n// First line.\n// Second line.\ntype f = () => any;\n\n} // namespace functions", rendered);
    }

    private static string RenderTool(string? schema)
    {
        JsonElement? parameters = schema is null ? null : JsonDocument.Parse(schema).RootElement.Clone();
        string section = FunctionsNamespace.Render([new HarmonyFunctionTool("f", "", parameters)]);
        const string Prefix = "## functions\n\nnamespace functions {\n\n";
        const string Suffix = "\n\n} // namespace functions";
        Assert.StartsWith(Prefix, section, StringComparison.Ordinal);
        Assert.EndsWith(Suffix, section, StringComparison.Ordinal);
        return section[Prefix.Length..^Suffix.Length];
    }
}
