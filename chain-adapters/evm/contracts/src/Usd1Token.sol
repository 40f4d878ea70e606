// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// USD1: a 6-decimal ERC-20 that only configured minters can mint (each within its own
/// allowance) or burn, with pause and a blocklist (frozen accounts can neither send nor receive).
///
/// Roles, as in Circle's FiatToken: the owner (two-step transfer, cannot be renounced) appoints
/// the `pauser`, the `blocklister` and the `masterMinter` (configures minters and their
/// allowances), one address each. `admin` starts in all four.
contract Usd1Token is ERC20, Pausable, Ownable2Step {
    address public pauser;
    address public blocklister;
    address public masterMinter;

    /// Per account, the bits MINTER and BLOCKLISTED in one slot (read by the views `isMinter` and
    /// `blocklisted`): a mint reads its minter's role and freeze with one SLOAD instead of two.
    mapping(address => uint256) private _flags;
    mapping(address => uint256) public minterAllowance;

    uint256 private constant MINTER = 1;
    uint256 private constant BLOCKLISTED = 2;

    event MinterConfigured(address indexed minter, uint256 allowance);
    event MinterRemoved(address indexed minter);
    event Mint(address indexed minter, address indexed to, uint256 amount);
    event Burn(address indexed burner, uint256 amount);
    event Blocklisted(address indexed account);
    event UnBlocklisted(address indexed account);
    event PauserUpdated(address indexed previousPauser, address indexed newPauser);
    event BlocklisterUpdated(address indexed previousBlocklister, address indexed newBlocklister);
    event MasterMinterUpdated(address indexed previousMasterMinter, address indexed newMasterMinter);

    error NotMinter(address account);
    error MintAllowanceExceeded(uint256 requested, uint256 allowance);
    error AccountBlocklisted(address account);
    error ZeroAmount();
    error NotPauser();
    error NotBlocklister();
    error NotMasterMinter();
    error ZeroAddress();
    error RenounceOwnershipDisabled();

    constructor(string memory name_, string memory symbol_, address admin) ERC20(name_, symbol_) Ownable(admin) {
        _setPauser(admin);
        _setBlocklister(admin);
        _setMasterMinter(admin);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    modifier onlyMinter() {
        if (_flags[msg.sender] & MINTER == 0) revert NotMinter(msg.sender);
        _;
    }

    modifier onlyPauser() {
        if (msg.sender != pauser) revert NotPauser();
        _;
    }

    modifier onlyBlocklister() {
        if (msg.sender != blocklister) revert NotBlocklister();
        _;
    }

    modifier onlyMasterMinter() {
        if (msg.sender != masterMinter) revert NotMasterMinter();
        _;
    }

    function isMinter(address account) external view returns (bool) {
        return _flags[account] & MINTER != 0;
    }

    function blocklisted(address account) public view returns (bool) {
        return _flags[account] & BLOCKLISTED != 0;
    }

    function configureMinter(address minter, uint256 allowance) external onlyMasterMinter {
        _flags[minter] |= MINTER;
        minterAllowance[minter] = allowance;
        emit MinterConfigured(minter, allowance);
    }

    function removeMinter(address minter) external onlyMasterMinter {
        _flags[minter] &= ~MINTER;
        minterAllowance[minter] = 0;
        emit MinterRemoved(minter);
    }

    /// The checks of onlyMinter and of the minter's freeze, in the same order, from one read of
    /// its flags.
    function mint(address to, uint256 amount) external whenNotPaused returns (bool) {
        uint256 flags = _flags[msg.sender];
        if (flags & MINTER == 0) revert NotMinter(msg.sender);
        if (amount == 0) revert ZeroAmount();
        if (flags & BLOCKLISTED != 0) revert AccountBlocklisted(msg.sender);
        uint256 allowance = minterAllowance[msg.sender];
        if (amount > allowance) revert MintAllowanceExceeded(amount, allowance);
        minterAllowance[msg.sender] = allowance - amount;
        _mint(to, amount);
        emit Mint(msg.sender, to, amount);
        return true;
    }

    /// A minter burns from its own balance (the messenger burns what it pulled from the user).
    function burn(uint256 amount) external whenNotPaused onlyMinter {
        if (amount == 0) revert ZeroAmount();
        _burn(msg.sender, amount);
        emit Burn(msg.sender, amount);
    }

    /// The zero address cannot be blocklisted: it holds nothing and signs nothing, and keeping it
    /// unfrozen lets `_update` skip its flags on every mint and burn (a cold SLOAD each).
    /// Stopping all mints and burns is what `pause` is for.
    function blocklist(address account) external onlyBlocklister {
        if (account == address(0)) revert ZeroAddress();
        _flags[account] |= BLOCKLISTED;
        emit Blocklisted(account);
    }

    function unBlocklist(address account) external onlyBlocklister {
        _flags[account] &= ~BLOCKLISTED;
        emit UnBlocklisted(account);
    }

    function pause() external onlyPauser {
        _pause();
    }

    function unpause() external onlyPauser {
        _unpause();
    }

    // ---- roles (the owner appoints them) ----

    function updatePauser(address newPauser) external onlyOwner {
        _setPauser(newPauser);
    }

    function updateBlocklister(address newBlocklister) external onlyOwner {
        _setBlocklister(newBlocklister);
    }

    function updateMasterMinter(address newMasterMinter) external onlyOwner {
        _setMasterMinter(newMasterMinter);
    }

    /// Disabled (as in CCTP): an ownerless token could never rotate its roles again.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceOwnershipDisabled();
    }

    function _setPauser(address newPauser) internal {
        if (newPauser == address(0)) revert ZeroAddress();
        emit PauserUpdated(pauser, newPauser);
        pauser = newPauser;
    }

    function _setBlocklister(address newBlocklister) internal {
        if (newBlocklister == address(0)) revert ZeroAddress();
        emit BlocklisterUpdated(blocklister, newBlocklister);
        blocklister = newBlocklister;
    }

    function _setMasterMinter(address newMasterMinter) internal {
        if (newMasterMinter == address(0)) revert ZeroAddress();
        emit MasterMinterUpdated(masterMinter, newMasterMinter);
        masterMinter = newMasterMinter;
    }

    function approve(address spender, uint256 value) public override whenNotPaused returns (bool) {
        if (blocklisted(msg.sender)) revert AccountBlocklisted(msg.sender);
        if (blocklisted(spender)) revert AccountBlocklisted(spender);
        return super.approve(spender, value);
    }

    /// Every balance change (transfer, mint, burn) passes here: paused or frozen stops it.
    /// The zero address (the `from` of a mint, the `to` of a burn) is never blocklisted (see
    /// `blocklist`), so its flags are not read.
    function _update(address from, address to, uint256 value) internal override whenNotPaused {
        if (from != address(0) && blocklisted(from)) revert AccountBlocklisted(from);
        if (to != address(0) && blocklisted(to)) revert AccountBlocklisted(to);
        if (blocklisted(msg.sender)) revert AccountBlocklisted(msg.sender);
        super._update(from, to, value);
    }
}
