using System.Text;
using Acp.GptOss.Tools;
using Acp.GptOss.Tools.Local;

namespace Acp.GptOss.Tests.Tools;

/// <summary>read_file, write_file, edit_file, list_files and search on a temporary workspace.</summary>
public sealed class LocalFileToolsTests : IDisposable
{
    private readonly TempWorkspace _temp = new();

    public void Dispose() => _temp.Dispose();

    private LocalFiles Files => _temp.Files;

    private LocalSearch Search => _temp.Search;

    private static CancellationToken Token => CancellationToken.None;

    [Fact]
    public async Task Read_returns_the_whole_text()
    {
        _temp.Write("a.txt", "one\ntwo\nthree\n");

        Assert.Equal("one\ntwo\nthree\n", await Files.ReadFileAsync("a.txt", cancellationToken: Token));
    }

    [Fact]
    public async Task Read_returns_a_window_of_lines()
    {
        _temp.Write("a.txt", "one\ntwo\nthree\nfour");

        Assert.Equal("two\nthree\n", await Files.ReadFileAsync("a.txt", line: 2, limit: 2, cancellationToken: Token));
        Assert.Equal("three\nfour", await Files.ReadFileAsync("a.txt", line: 3, cancellationToken: Token));
        Assert.Equal("one\n", await Files.ReadFileAsync("a.txt", limit: 1, cancellationToken: Token));
        await Assert.ThrowsAsync<ToolException>(() => Files.ReadFileAsync("a.txt", line: 9, cancellationToken: Token));
        await Assert.ThrowsAsync<ToolException>(() => Files.ReadFileAsync("a.txt", line: 0, cancellationToken: Token));
    }

    [Fact]
    public async Task Read_of_an_additional_directory_works()
    {
        await File.WriteAllTextAsync(Path.Combine(_temp.Extra, "n.md"), "extra", Token);

        Assert.Equal("extra", await Files.ReadFileAsync(Path.Combine(_temp.Extra, "n.md"), cancellationToken: Token));
    }

    [Fact]
    public async Task Read_refuses_binary_files()
    {
        await File.WriteAllBytesAsync(Path.Combine(_temp.Workspace, "b.bin"), [0x41, 0x00, 0x42], Token);

        var error = await Assert.ThrowsAsync<ToolException>(() => Files.ReadFileAsync("b.bin", cancellationToken: Token));
        Assert.Contains("binary", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_refuses_files_over_one_mebibyte()
    {
        _temp.Write("big.txt", new string('a', LocalFiles.MaxFileBytes + 1));

        var error = await Assert.ThrowsAsync<ToolException>(() => Files.ReadFileAsync("big.txt", cancellationToken: Token));
        Assert.Contains("limit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_refuses_paths_outside()
    {
        File.CreateSymbolicLink(Path.Combine(_temp.Workspace, "leak.txt"), Path.Combine(_temp.Outside, "secret.txt"));

        await Assert.ThrowsAsync<ToolException>(() => Files.ReadFileAsync("../outside/secret.txt", cancellationToken: Token));
        await Assert.ThrowsAsync<ToolException>(() => Files.ReadFileAsync(Path.Combine(_temp.Outside, "secret.txt"), cancellationToken: Token));
        await Assert.ThrowsAsync<ToolException>(() => Files.ReadFileAsync("leak.txt", cancellationToken: Token));
    }

    [Fact]
    public async Task Read_of_a_missing_file_says_so()
    {
        var error = await Assert.ThrowsAsync<ToolException>(() => Files.ReadFileAsync("nope.txt", cancellationToken: Token));
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_creates_parent_folders_and_leaves_no_temporary_file()
    {
        string result = await Files.WriteFileAsync("new/dir/f.txt", "héllo\n", Token);

        string full = Path.Combine(_temp.Workspace, "new", "dir", "f.txt");
        Assert.Equal("héllo\n", await File.ReadAllTextAsync(full, Token));
        Assert.Contains("new/dir/f.txt", result, StringComparison.Ordinal);
        Assert.Equal([full], Directory.GetFiles(Path.GetDirectoryName(full)!));
    }

    [Fact]
    public async Task Write_replaces_a_file_and_keeps_its_mode()
    {
        string full = _temp.Write("run.sh", "old");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(full, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        await Files.WriteFileAsync("run.sh", "new", Token);

        Assert.Equal("new", await File.ReadAllTextAsync(full, Token));
        if (!OperatingSystem.IsWindows())
        {
            Assert.True(File.GetUnixFileMode(full).HasFlag(UnixFileMode.UserExecute));
        }
    }

    [Fact]
    public async Task Write_refuses_paths_outside_and_writes_nothing()
    {
        File.CreateSymbolicLink(Path.Combine(_temp.Workspace, "leak.txt"), Path.Combine(_temp.Outside, "secret.txt"));
        Directory.CreateSymbolicLink(Path.Combine(_temp.Workspace, "out"), _temp.Outside);

        await Assert.ThrowsAsync<ToolException>(() => Files.WriteFileAsync("../outside/a.txt", "x", Token));
        await Assert.ThrowsAsync<ToolException>(() => Files.WriteFileAsync(Path.Combine(_temp.Sibling, "a.txt"), "x", Token));
        await Assert.ThrowsAsync<ToolException>(() => Files.WriteFileAsync("leak.txt", "x", Token));
        await Assert.ThrowsAsync<ToolException>(() => Files.WriteFileAsync("out/new/a.txt", "x", Token));

        Assert.Equal("secret\n", await File.ReadAllTextAsync(Path.Combine(_temp.Outside, "secret.txt"), Token));
        Assert.Equal(["secret.txt"], Directory.GetFileSystemEntries(_temp.Outside).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFileSystemEntries(_temp.Sibling));
        Assert.False(File.Exists(Path.Combine(_temp.Root, "outside", "a.txt")));
    }

    [Fact]
    public async Task Edit_replaces_the_one_occurrence_and_returns_both_texts()
    {
        string full = _temp.Write("c.cs", "int a = 1;\nint b = 2;\n");

        FileEdit edit = await Files.EditFileAsync("c.cs", "int b = 2;", "int b = 3;", Token);

        Assert.Equal("int a = 1;\nint b = 3;\n", await File.ReadAllTextAsync(full, Token));
        Assert.Equal(full, edit.Path);
        Assert.Equal("int a = 1;\nint b = 2;\n", edit.OldText);
        Assert.Equal("int a = 1;\nint b = 3;\n", edit.NewText);
        Assert.Contains("line 2", edit.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Edit_keeps_a_byte_order_mark()
    {
        string full = Path.Combine(_temp.Workspace, "bom.txt");
        await File.WriteAllBytesAsync(full, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("abc")], Token);

        await Files.EditFileAsync("bom.txt", "b", "X", Token);

        Assert.Equal([0xEF, 0xBB, 0xBF, (byte)'a', (byte)'X', (byte)'c'], await File.ReadAllBytesAsync(full, Token));
    }

    [Fact]
    public async Task Edit_with_text_not_found_changes_nothing()
    {
        string full = _temp.Write("c.txt", "abc");

        var error = await Assert.ThrowsAsync<ToolException>(() => Files.EditFileAsync("c.txt", "xyz", "q", Token));

        Assert.Contains("not found", error.Message, StringComparison.Ordinal);
        Assert.Equal("abc", await File.ReadAllTextAsync(full, Token));
    }

    [Fact]
    public async Task Edit_with_ambiguous_text_changes_nothing()
    {
        string full = _temp.Write("c.txt", "x = 1; x = 1;");

        var error = await Assert.ThrowsAsync<ToolException>(() => Files.EditFileAsync("c.txt", "x = 1;", "x = 2;", Token));

        Assert.Contains("2 times", error.Message, StringComparison.Ordinal);
        Assert.Equal("x = 1; x = 1;", await File.ReadAllTextAsync(full, Token));
    }

    [Fact]
    public async Task Edit_refuses_binary_files_and_paths_outside()
    {
        await File.WriteAllBytesAsync(Path.Combine(_temp.Workspace, "b.bin"), [0x61, 0x00], Token);
        File.CreateSymbolicLink(Path.Combine(_temp.Workspace, "leak.txt"), Path.Combine(_temp.Outside, "secret.txt"));

        await Assert.ThrowsAsync<ToolException>(() => Files.EditFileAsync("b.bin", "a", "b", Token));
        await Assert.ThrowsAsync<ToolException>(() => Files.EditFileAsync("leak.txt", "secret", "gone", Token));
        Assert.Equal("secret\n", await File.ReadAllTextAsync(Path.Combine(_temp.Outside, "secret.txt"), Token));
    }

    [Fact]
    public async Task List_is_sorted_marks_folders_and_skips_git()
    {
        _temp.Write("b.txt", "");
        _temp.Write("a/x.txt", "");
        _temp.Write(".git/HEAD", "");
        Directory.CreateDirectory(Path.Combine(_temp.Workspace, "empty"));

        Assert.Equal("a/\nb.txt\nempty/", await Search.ListFilesAsync(".", recursive: false, Token));
        Assert.Equal("a/\na/x.txt\nb.txt\nempty/", await Search.ListFilesAsync(".", recursive: true, Token));
        Assert.Equal("x.txt", await Search.ListFilesAsync("a", recursive: true, Token));
        Assert.Equal("(empty directory)", await Search.ListFilesAsync("empty", recursive: true, Token));
    }

    [Fact]
    public async Task List_does_not_enter_a_symlinked_folder()
    {
        Directory.CreateSymbolicLink(Path.Combine(_temp.Workspace, "out"), _temp.Outside);

        string listing = await Search.ListFilesAsync(".", recursive: true, Token);

        Assert.DoesNotContain("secret", listing, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ToolException>(() => Search.ListFilesAsync("out", recursive: false, Token));
        await Assert.ThrowsAsync<ToolException>(() => Search.ListFilesAsync("..", recursive: false, Token));
    }

    [Fact]
    public async Task List_stops_at_the_entry_limit_with_a_note()
    {
        for (int i = 0; i < LocalSearch.MaxListEntries + 5; i++)
        {
            File.Create(Path.Combine(_temp.Workspace, $"f{i:D5}")).Dispose();
        }

        string[] lines = (await Search.ListFilesAsync(".", recursive: true, Token)).Split('\n');

        Assert.Equal(LocalSearch.MaxListEntries + 1, lines.Length);
        Assert.Contains("stopped at 2000", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_finds_lines_case_sensitively_and_skips_binary_and_git()
    {
        _temp.Write("src/a.cs", "class Foo\n{\n    // foo\n    Foo() { }\n}\n");
        _temp.Write("b.txt", "no match here\n");
        _temp.Write(".git/config", "Foo\n");
        await File.WriteAllBytesAsync(Path.Combine(_temp.Workspace, "x.bin"), [.. "Foo"u8, 0x00], Token);

        string result = await Search.SearchAsync("Foo", cancellationToken: Token);

        Assert.Equal("src/a.cs:1: class Foo\nsrc/a.cs:4:     Foo() { }", result);
    }

    [Fact]
    public async Task Search_of_one_file_or_folder_and_no_match()
    {
        _temp.Write("src/a.cs", "needle\n");
        _temp.Write("other/b.cs", "needle\n");

        Assert.Equal("src/a.cs:1: needle", await Search.SearchAsync("needle", "src", Token));
        Assert.Equal("other/b.cs:1: needle", await Search.SearchAsync("needle", "other/b.cs", Token));
        Assert.StartsWith("No matches", await Search.SearchAsync("haystack", null, Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_does_not_follow_symlinks_or_leave_the_workspace()
    {
        File.CreateSymbolicLink(Path.Combine(_temp.Workspace, "leak.txt"), Path.Combine(_temp.Outside, "secret.txt"));
        Directory.CreateSymbolicLink(Path.Combine(_temp.Workspace, "out"), _temp.Outside);

        Assert.StartsWith("No matches", await Search.SearchAsync("secret", null, Token), StringComparison.Ordinal);
        await Assert.ThrowsAsync<ToolException>(() => Search.SearchAsync("secret", "../outside", Token));
        await Assert.ThrowsAsync<ToolException>(() => Search.SearchAsync("secret", "out", Token));
    }

    [Fact]
    public async Task Search_stops_at_the_match_limit_with_a_note()
    {
        _temp.Write("many.txt", string.Concat(Enumerable.Repeat("hit\n", LocalSearch.MaxSearchMatches + 10)));

        string[] lines = (await Search.SearchAsync("hit", null, Token)).Split('\n');

        Assert.Equal(LocalSearch.MaxSearchMatches + 1, lines.Length);
        Assert.Equal($"many.txt:{LocalSearch.MaxSearchMatches}: hit", lines[^2]);
        Assert.Contains("stopped at 200", lines[^1], StringComparison.Ordinal);
    }
}
