using System.Text.Json;
using Harmony.Conversations;

namespace Acp.GptOss.Tools;

/// <summary>The function tools every session offers GPT-OSS, as declared in its developer message.</summary>
internal static class WorkspaceFunctions
{
    public const string ReadFile = "read_file";
    public const string WriteFile = "write_file";
    public const string EditFile = "edit_file";
    public const string ListFiles = "list_files";
    public const string Search = "search";
    public const string RunCommand = "run_command";

    /// <summary>The declarations, in the order the model sees them.</summary>
    public static IReadOnlyList<HarmonyFunctionTool> All { get; } =
    [
        new(ReadFile, "Reads a text file of the workspace. Returns its text, or a window of lines.", Schema("""
            {"type":"object","properties":{
              "path":{"type":"string","description":"The file, relative to the workspace root."},
              "line":{"type":"integer","description":"The first line to read, 1-based."},
              "limit":{"type":"integer","description":"How many lines to read at most."}},
             "required":["path"]}
            """)),
        new(WriteFile, "Creates a file, or replaces all of its text. To change part of a file, use edit_file.", Schema("""
            {"type":"object","properties":{
              "path":{"type":"string","description":"The file, relative to the workspace root."},
              "content":{"type":"string","description":"The whole new text of the file."}},
             "required":["path","content"]}
            """)),
        new(EditFile, "Replaces one exact piece of text in a file. old_text must occur exactly once; include enough surrounding lines to make it unique.", Schema("""
            {"type":"object","properties":{
              "path":{"type":"string","description":"The file, relative to the workspace root."},
              "old_text":{"type":"string","description":"The text to replace, exactly as it is in the file, whitespace included."},
              "new_text":{"type":"string","description":"The text to put in its place."}},
             "required":["path","old_text","new_text"]}
            """)),
        new(ListFiles, "Lists the files and folders in a folder of the workspace; folders end with '/'.", Schema("""
            {"type":"object","properties":{
              "path":{"type":"string","description":"The folder, relative to the workspace root.","default":"."},
              "recursive":{"type":"boolean","description":"Whether to list subfolders too.","default":false}}}
            """)),
        new(Search, "Searches the workspace's text files for a line containing the pattern (plain text, case-sensitive). Returns file:line: text per match.", Schema("""
            {"type":"object","properties":{
              "pattern":{"type":"string","description":"The text to find."},
              "path":{"type":"string","description":"A folder or file to search in, relative to the workspace root.","default":"."}},
             "required":["pattern"]}
            """)),
        new(RunCommand, "Runs a shell command (sh -c) in the workspace and returns its exit code and output.", Schema("""
            {"type":"object","properties":{
              "command":{"type":"string","description":"The command line."},
              "cwd":{"type":"string","description":"The folder to run it in, relative to the workspace root.","default":"."},
              "timeout_seconds":{"type":"integer","description":"Kill the command after this many seconds.","default":120}},
             "required":["command"]}
            """)),
    ];

    private static JsonElement Schema(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
