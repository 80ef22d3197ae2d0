using Acp.GptOss.Tools;

namespace Acp.GptOss.Tests.Tools;

/// <summary>Which paths <see cref="WorkspaceRoots.Resolve"/> lets through, and why the others are refused.</summary>
public sealed class WorkspaceRootsTests : IDisposable
{
    private readonly TempWorkspace _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Relative_paths_resolve_against_the_cwd()
    {
        Assert.Equal(Path.Combine(_temp.Workspace, "src", "a.cs"), _temp.Roots.Resolve("src/a.cs"));
        Assert.Equal(Path.Combine(_temp.Workspace, "b.txt"), _temp.Roots.Resolve("./src/../b.txt"));
    }

    [Fact]
    public void A_root_itself_is_inside()
    {
        Assert.Equal(_temp.Workspace, _temp.Roots.Resolve("."));
        Assert.Equal(_temp.Workspace, _temp.Roots.Resolve(_temp.Workspace + "/"));
        Assert.Equal(_temp.Extra, _temp.Roots.Resolve(_temp.Extra));
    }

    [Fact]
    public void Dot_dot_out_of_the_workspace_is_refused()
    {
        var error = Assert.Throws<ToolException>(() => _temp.Roots.Resolve("../outside/secret.txt"));
        Assert.Contains("outside the workspace", error.Message, StringComparison.Ordinal);
        Assert.Contains("../outside/secret.txt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dot_dot_that_stays_inside_is_allowed()
    {
        Assert.Equal(Path.Combine(_temp.Workspace, "x"), _temp.Roots.Resolve("a/b/../../x"));
    }

    [Fact]
    public void An_absolute_path_outside_is_refused()
    {
        Assert.Throws<ToolException>(() => _temp.Roots.Resolve(Path.Combine(_temp.Outside, "secret.txt")));
        Assert.Throws<ToolException>(() => _temp.Roots.Resolve("/etc/passwd"));
    }

    [Fact]
    public void A_sibling_whose_name_extends_the_root_is_outside()
    {
        // "<tmp>/wsx" starts with "<tmp>/ws" as a string, but is not under it.
        Assert.Throws<ToolException>(() => _temp.Roots.Resolve(Path.Combine(_temp.Sibling, "f.txt")));
        Assert.Throws<ToolException>(() => _temp.Roots.Resolve("../wsx"));
    }

    [Fact]
    public void An_additional_directory_is_allowed()
    {
        string path = Path.Combine(_temp.Extra, "notes.md");
        Assert.Equal(path, _temp.Roots.Resolve(path));
        Assert.Equal(path, _temp.Roots.Resolve("../extra/notes.md"));
    }

    [LinuxFact]
    public void Comparison_is_case_sensitive_on_linux()
    {
        string upper = Path.Combine(_temp.Root, "WS", "f.txt");
        Assert.Throws<ToolException>(() => _temp.Roots.Resolve(upper));
    }

    [Fact]
    public void A_symlinked_file_pointing_outside_is_refused_and_named()
    {
        string link = Path.Combine(_temp.Workspace, "leak.txt");
        File.CreateSymbolicLink(link, Path.Combine(_temp.Outside, "secret.txt"));

        var error = Assert.Throws<ToolException>(() => _temp.Roots.Resolve("leak.txt"));

        Assert.Contains("symlink", error.Message, StringComparison.Ordinal);
        Assert.Contains(link, error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_temp.Outside, "secret.txt"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_not_yet_existing_file_under_a_symlinked_dir_pointing_outside_is_refused()
    {
        Directory.CreateSymbolicLink(Path.Combine(_temp.Workspace, "out"), _temp.Outside);

        var error = Assert.Throws<ToolException>(() => _temp.Roots.Resolve("out/new/deeper.txt"));
        Assert.Contains("symlink", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_relative_symlink_climbing_out_is_refused()
    {
        Directory.CreateSymbolicLink(Path.Combine(_temp.Workspace, "up"), "../outside");

        Assert.Throws<ToolException>(() => _temp.Roots.Resolve("up/secret.txt"));
    }

    [Fact]
    public void Dot_dot_after_a_symlink_applies_to_its_target()
    {
        // As the kernel does: "link/.." is the target's parent, not the link's folder.
        Directory.CreateDirectory(Path.Combine(_temp.Workspace, "deep", "inner"));
        Directory.CreateSymbolicLink(Path.Combine(_temp.Workspace, "shortcut"), Path.Combine(_temp.Workspace, "deep", "inner"));

        Assert.Equal(Path.Combine(_temp.Workspace, "deep", "x"), _temp.Roots.Resolve("shortcut/../x"));
    }

    [Fact]
    public void A_symlink_pointing_inside_resolves_to_its_target()
    {
        string target = _temp.Write("real/file.txt", "x");
        File.CreateSymbolicLink(Path.Combine(_temp.Workspace, "alias.txt"), target);

        Assert.Equal(target, _temp.Roots.Resolve("alias.txt"));
    }

    [Fact]
    public void A_symlink_into_an_additional_directory_is_allowed()
    {
        Directory.CreateSymbolicLink(Path.Combine(_temp.Workspace, "more"), _temp.Extra);

        Assert.Equal(Path.Combine(_temp.Extra, "a.txt"), _temp.Roots.Resolve("more/a.txt"));
    }

    [Fact]
    public void A_symlink_loop_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(_temp.Workspace, "a"), "b");
        File.CreateSymbolicLink(Path.Combine(_temp.Workspace, "b"), "a");

        var error = Assert.Throws<ToolException>(() => _temp.Roots.Resolve("a"));
        Assert.Contains("too many levels of symlinks", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_root_reached_through_a_symlink_is_its_real_path()
    {
        string link = Path.Combine(_temp.Root, "ws-link");
        Directory.CreateSymbolicLink(link, _temp.Workspace);

        var roots = new WorkspaceRoots(link);

        Assert.Equal(_temp.Workspace, roots.Cwd);
        Assert.Equal(Path.Combine(_temp.Workspace, "f"), roots.Resolve(Path.Combine(link, "f")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("a\0b")]
    public void Empty_or_malformed_paths_are_refused(string path)
    {
        Assert.Throws<ToolException>(() => _temp.Roots.Resolve(path));
    }

    [Fact]
    public void Roots_must_be_absolute()
    {
        Assert.Throws<ArgumentException>(() => new WorkspaceRoots("relative/dir"));
        Assert.Throws<ArgumentException>(() => new WorkspaceRoots(_temp.Workspace, ["relative"]));
    }
}

/// <summary>A fact about Linux alone, skipped visibly elsewhere.</summary>
internal sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Linux only: Windows and macOS compare paths without case, as their file systems usually do.";
        }
    }
}
